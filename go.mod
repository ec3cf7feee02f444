module github.com/metlog/metlog

go 1.25.0
