// query.mjs runs one SQL query with DuckDB and prints each result row as a JSON object on its
// own line. Decimals, timestamps and 64-bit integers are printed as strings, so no digit is lost
// to JavaScript numbers. Both DuckDB's session and this process run in UTC, so timestamps with
// a time zone print as `... +00` whatever the machine's zone.
//
//   node tools/duckdb/query.mjs "SELECT count(*) FROM read_parquet('data/tx.parquet')"
//
// Exit status: 0 on success, 1 when the query fails (the error goes to stderr), 2 on misuse.

// The client library reads the process's zone offset once, when it is loaded: set it first.
process.env.TZ = 'UTC';
const { DuckDBInstance } = await import('@duckdb/node-api');

const sql = process.argv[2];
if (!sql || process.argv.length > 3) {
  process.stderr.write('usage: node query.mjs "SQL"\n');
  process.exit(2);
}

let instance;
let conn;
try {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  const reader = await conn.runAndReadAll(sql);
  const out = reader.getRowObjectsJson().map((row) => JSON.stringify(row)).join('\n');
  process.stdout.write(out === '' ? '' : out + '\n');
} catch (err) {
  process.stderr.write(`duckdb: ${err && err.message ? err.message : err}\n`);
  process.exitCode = 1;
} finally {
  conn?.closeSync();
  instance?.closeSync();
}
