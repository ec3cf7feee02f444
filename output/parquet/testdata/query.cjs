// Runs SQL with DuckDB (@duckdb/node-api) for the parquet output's tests.
// Usage: node query.cjs PATH_TO_DUCKDB_NODE_API < queries.json
// queries.json is a JSON array of SQL strings; the output is a JSON array
// with, for each query, its rows as objects (values as DuckDB's JSON
// conversion gives them: BIGINT and TIMESTAMP as strings).
const { DuckDBInstance } = require(process.argv[2]);

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const queries = JSON.parse(input);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const out = [];
  for (const sql of queries) {
    const reader = await conn.runAndReadAll(sql);
    out.push(reader.getRowObjectsJson());
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
