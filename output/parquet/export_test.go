package parquet

// For the tests of package parquet_test.
var (
	QueryDuckDB = duckDB
	Scan        = scan
)
