// This directory holds the test suite's npm packages, not Go code. Its own
// go.mod keeps the Go files some npm packages ship out of the metlog module.
module github.com/metlog/metlog/testdeps

go 1.25.0
