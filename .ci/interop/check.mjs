// check.mjs RUN_DIR — the DuckDB interop check of a finished dars run.
//
// It opens an in-memory DuckDB, reads every Parquet file dars wrote into
// RUN_DIR with read_parquet, and checks them against RUN_DIR/manifest.json
// and against each other: row counts, the exact DuckDB type of every column
// (in file order), the dars.* key-value metadata, the documented row order
// and a few values. It prints one line per file and exits 1 with every
// failure listed, or 2 on bad usage.
//
// The expectations hold for any run without rewrites of its own; the
// quickstart (examples/quickstart/dars.yaml) is the run CI checks.

import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

// ---------------------------------------------------------------------------
// Expected schemas: pkg/parquetio/*.go, as DuckDB types.

const VARIANTS = [
  ['query_id', 'VARCHAR'],
  ['variant_id', 'INTEGER'],
  ['source', 'VARCHAR'],
  ['text', 'VARCHAR'],
  ['rewriter', 'VARCHAR'],
];

const REWRITES = [
  ['query_id', 'VARCHAR'],
  ['attempt', 'INTEGER'],
  ['item', 'INTEGER'],
  ['text', 'VARCHAR'],
  ['status', 'VARCHAR'],
  ['reason', 'VARCHAR'],
  ['variant_id', 'INTEGER'],
  ['verifier_verdict', 'VARCHAR'],
  ['rewriter', 'VARCHAR'],
  ['call_key', 'VARCHAR'],
];

const GENERATIONS = [
  ['generation_key', 'VARCHAR'],
  ['query_id', 'VARCHAR'],
  ['variant_id', 'INTEGER'],
  ['model', 'VARCHAR'],
  ['sample_index', 'INTEGER'],
  ['seed', 'BIGINT'],
  ['temperature', 'DOUBLE'],
  ['top_p', 'DOUBLE'],
  ['max_tokens', 'INTEGER'],
  ['output_text', 'VARCHAR'],
  ['finish_reason', 'VARCHAR'],
  ['prompt_tokens', 'BIGINT'],
  ['completion_tokens', 'BIGINT'],
  ['cost_usd', 'DOUBLE'],
  ['latency_ms', 'BIGINT'],
  ['attempts', 'INTEGER'],
  ['error', 'VARCHAR'],
  // Arrow timestamp[ms, tz=UTC] is stored as an adjusted-to-UTC timestamp.
  ['created_at', 'TIMESTAMP WITH TIME ZONE'],
  ['usage_estimated', 'BOOLEAN'],
  ['reasoning_tokens', 'BIGINT'],
];

const SCORES = [
  ['generation_key', 'VARCHAR'],
  ['query_id', 'VARCHAR'],
  ['variant_id', 'INTEGER'],
  ['model', 'VARCHAR'],
  ['sample_index', 'INTEGER'],
  ['judge', 'VARCHAR'],
  ['status', 'VARCHAR'],
  ['score', 'DOUBLE'],
  ['passed', 'BOOLEAN'],
  ['extracted', 'VARCHAR'],
  ['detail', 'VARCHAR'],
];

function labelsColumns(ks) {
  return [
    ['query_id', 'VARCHAR'],
    ['model', 'VARCHAR'],
    ['n', 'BIGINT'],
    ['n_unscored', 'BIGINT'],
    ['n_error', 'BIGINT'],
    ['successes', 'BIGINT'],
    ['mean', 'DOUBLE'],
    ['std', 'DOUBLE'],
    ['variant_means', 'DOUBLE[]'],
    ['var_between', 'DOUBLE'],
    ['var_within', 'DOUBLE'],
    ['beta_alpha', 'DOUBLE'],
    ['beta_beta', 'DOUBLE'],
    ['ci_low', 'DOUBLE'],
    ['ci_high', 'DOUBLE'],
    ...ks.map((k) => [`pass_at_${k}`, 'DOUBLE']),
    ['cost_mean', 'DOUBLE'],
    ['cost_norm', 'DOUBLE'],
    ['utility', 'DOUBLE'],
    ['p_best', 'DOUBLE'],
    ['is_best', 'BOOLEAN'],
    ['single_shot_score', 'DOUBLE'],
    // labels schema 2 (docs/intervals.md): the independent-draws interval
    ['ci_low_iid', 'DOUBLE'],
    ['ci_high_iid', 'DOUBLE'],
  ];
}

// fileSchema is the dars.schema_version of the file kinds that carry their
// own; the others carry the manifest's.
const fileSchema = { labels: '2' };

function routesColumns(models) {
  return [
    ['query_id', 'VARCHAR'],
    ['best_model', 'VARCHAR'],
    ['best_utility', 'DOUBLE'],
    ...models.map((m) => [`p_best_${m}`, 'DOUBLE']),
    ['single_shot_best_model', 'VARCHAR'],
    ['single_shot_flip_rate', 'DOUBLE'],
  ];
}

const TRUTH = [
  ['query_id', 'VARCHAR'],
  ['variant_id', 'INTEGER'],
  ['model', 'VARCHAR'],
  ['p', 'DOUBLE'],
];

// Tolerance of the floating-point comparisons.
const EPS = 1e-9;

// ---------------------------------------------------------------------------
// Helpers.

// failures collects every failed assertion; the check reports them all.
const failures = [];

function fail(file, msg) {
  failures.push(`${file}: ${msg}`);
}

// passed counts the assertions that held.
let passed = 0;

// expect records a failure when cond is false and returns cond.
function expect(file, cond, msg) {
  if (cond) passed++;
  else fail(file, msg);
  return cond;
}

// sqlString quotes s as a SQL string literal.
function sqlString(s) {
  return `'${String(s).replaceAll("'", "''")}'`;
}

// ident quotes s as a SQL identifier.
function ident(s) {
  return `"${String(s).replaceAll('"', '""')}"`;
}

// num turns a DuckDB JS value (number or bigint) into a number.
function num(v) {
  return typeof v === 'bigint' ? Number(v) : v;
}

// decimal reads a non-negative decimal integer of at most 18 digits, as
// record.CompareQueryID does; it returns null for anything else.
function decimal(s) {
  if (s.length === 0 || s.length > 18 || !/^[0-9]+$/.test(s)) return null;
  return BigInt(s);
}

// compareBytes compares strings by their UTF-8 bytes, as Go's strings.Compare.
function compareBytes(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// compareQueryID mirrors record.CompareQueryID: two decimal ids compare as
// numbers, decimal ids sort before others, anything else compares as bytes.
function compareQueryID(a, b) {
  const ai = decimal(a);
  const bi = decimal(b);
  if (ai !== null && bi !== null) {
    if (ai !== bi) return ai < bi ? -1 : 1;
  } else if (ai !== null) {
    return -1;
  } else if (bi !== null) {
    return 1;
  }
  return compareBytes(a, b);
}

function compareInt(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// compareSampleKey orders rows by (query_id, variant_id, model,
// sample_index), as pkg/parquetio/order.go; absent fields compare equal.
function compareSampleKey(a, b) {
  return (
    compareQueryID(a.query_id, b.query_id) ||
    compareInt(num(a.variant_id ?? 0), num(b.variant_id ?? 0)) ||
    compareBytes(a.model ?? '', b.model ?? '') ||
    compareInt(num(a.sample_index ?? 0), num(b.sample_index ?? 0))
  );
}

// checkOrder fails unless rows are sorted by cmp; with strict, equal
// neighbours fail too. It reports the first offending row only.
function checkOrder(file, rows, cmp, strict, what) {
  for (let i = 1; i < rows.length; i++) {
    const c = cmp(rows[i - 1], rows[i]);
    if (c > 0 || (strict && c === 0)) {
      fail(file, `rows not sorted by ${what}${strict ? ' without repeats' : ''}: row ${i} ${JSON.stringify(rows[i])} after row ${i - 1} ${JSON.stringify(rows[i - 1])}`);
      return;
    }
  }
  passed++;
}

// ---------------------------------------------------------------------------
// The run.

function usage(msg) {
  process.stderr.write(`check.mjs: ${msg}\nusage: node check.mjs RUN_DIR   (the folder holding manifest.json and the *.parquet files)\n`);
  process.exit(2);
}

const runDir = process.argv[2];
if (!runDir || process.argv.length > 3) usage('want exactly one argument');
const manifestPath = path.join(runDir, 'manifest.json');
if (!fs.existsSync(manifestPath)) usage(`no manifest.json in ${JSON.stringify(runDir)}`);

let manifest;
try {
  manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
} catch (err) {
  console.error(`FAIL manifest.json: cannot parse: ${err.message}`);
  process.exit(1);
}

const counts = manifest.counts ?? {};
for (const key of ['queries', 'variants', 'models', 'generations', 'generation_errors', 'scores']) {
  expect('manifest.json', counts[key] !== undefined, `counts.${key} is missing`);
}
const cfg = manifest.config ?? {};

// The candidate models, in run order, with their providers.
let modelEntries = (manifest.models ?? []).map((m) => ({ name: m.name, provider: m.provider }));
if (modelEntries.length === 0) {
  modelEntries = (cfg.Models ?? cfg.models ?? [])
    .filter((m) => (m.Candidate ?? m.candidate) !== false)
    .map((m) => ({ name: m.Name ?? m.name, provider: m.Provider ?? m.provider }));
}
const models = modelEntries.map((m) => m.name);
const simModels = modelEntries.filter((m) => m.provider === 'sim').map((m) => m.name);
expect('manifest.json', models.length === counts.models, `${models.length} models listed, counts.models is ${counts.models}`);

// The pass@k values: from the config, else from the labels file's columns.
const ks = (cfg.Labels ?? cfg.labels ?? {}).PassAtK ?? (cfg.labels ?? {}).pass_at_k ?? null;

// The primary judge, whose scores the labels are built from.
const judgesCfg = cfg.Judges ?? cfg.judges ?? [];
const primary = (judgesCfg.find((j) => j.Primary ?? j.primary) ?? judgesCfg[0] ?? {});
const primaryJudge = primary.Name ?? primary.name ?? null;

const scoreTotal = Object.values(counts.scores ?? {})
  .flatMap((byStatus) => Object.values(byStatus))
  .reduce((a, b) => a + b, 0);

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();

async function rows(sql) {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS();
}

async function scalar(sql) {
  const r = await rows(sql);
  return num(Object.values(r[0])[0]);
}

// src is the read_parquet call of a file, with each row's position in it.
function src(file) {
  return `read_parquet(${sqlString(path.join(runDir, file))}, file_row_number = true)`;
}

// checkFile checks that a file exists, its row count, its exact columns and
// types, and its dars.* metadata. It returns false when the file cannot be
// read at all, so the value checks are skipped.
async function checkFile(file, kind, wantRows, wantColumns) {
  const p = path.join(runDir, file);
  if (!fs.existsSync(p)) {
    fail(file, 'file is missing');
    return false;
  }
  let cols;
  try {
    cols = await rows(`DESCRIBE SELECT * FROM read_parquet(${sqlString(p)})`);
  } catch (err) {
    fail(file, `DuckDB cannot read it: ${err.message}`);
    return false;
  }
  const got = cols.map((c) => `${c.column_name} ${c.column_type}`);
  const want = wantColumns.map(([n, t]) => `${n} ${t}`);
  if (got.join('\n') !== want.join('\n')) {
    const missing = want.filter((w) => !got.includes(w));
    const extra = got.filter((g) => !want.includes(g));
    fail(file, `columns differ from pkg/parquetio: missing or retyped [${missing.join(', ')}], unexpected [${extra.join(', ')}]` +
      (missing.length === 0 && extra.length === 0 ? ` (order: got ${got.map((g) => g.split(' ')[0]).join(',')})` : ''));
  }

  const n = await scalar(`SELECT count(*) FROM read_parquet(${sqlString(p)})`);
  expect(file, n === wantRows, `${n} rows, want ${wantRows}`);

  const kv = await rows(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${sqlString(p)})`);
  const meta = Object.fromEntries(kv.map((r) => [r.k, r.v]));
  if (expect(file, meta['dars.schema_version'] !== undefined, 'key-value metadata has no dars.schema_version')) {
    const want = fileSchema[kind] ?? (manifest.schema_version === undefined ? undefined : String(manifest.schema_version));
    expect(file, want === undefined || meta['dars.schema_version'] === want,
      `dars.schema_version is ${JSON.stringify(meta['dars.schema_version'])}, want ${JSON.stringify(want)}`);
  }
  expect(file, meta['dars.kind'] === kind, `dars.kind is ${JSON.stringify(meta['dars.kind'])}, want ${JSON.stringify(kind)}`);
  if (manifest.config_hash !== undefined) {
    expect(file, meta['dars.config_hash'] === manifest.config_hash,
      `dars.config_hash is ${JSON.stringify(meta['dars.config_hash'])}, manifest says ${JSON.stringify(manifest.config_hash)}`);
  }
  return true;
}

// report prints the file's line: ok, or FAIL with its first failure.
const reported = new Set();
async function report(file, before) {
  const mine = failures.slice(before);
  reported.add(file);
  const p = path.join(runDir, file);
  let shape = '';
  if (fs.existsSync(p)) {
    try {
      const n = await scalar(`SELECT count(*) FROM read_parquet(${sqlString(p)})`);
      const c = (await rows(`DESCRIBE SELECT * FROM read_parquet(${sqlString(p)})`)).length;
      shape = ` ${n} rows, ${c} columns`;
    } catch {
      shape = ' unreadable';
    }
  }
  if (mine.length === 0) {
    console.log(`ok ${file}${shape}`);
  } else {
    console.log(`FAIL ${file}${shape}: ${mine.length} failure${mine.length > 1 ? 's' : ''}`);
  }
}

// Every check below is one file; value checks across files belong to the
// file they read last.

// variants.parquet ----------------------------------------------------------
let before = failures.length;
const variantsPerQuery = new Map();
if (await checkFile('variants.parquet', 'variants', counts.variants, VARIANTS)) {
  const r = await rows(`SELECT query_id, variant_id FROM ${src('variants.parquet')} ORDER BY file_row_number`);
  checkOrder('variants.parquet', r, compareSampleKey, true, '(query_id, variant_id)');
  for (const { query_id: q } of r) variantsPerQuery.set(q, (variantsPerQuery.get(q) ?? 0) + 1);
  expect('variants.parquet', variantsPerQuery.size === counts.queries, `${variantsPerQuery.size} distinct query_id, counts.queries is ${counts.queries}`);
  const bad = await scalar(`SELECT count(*) FROM ${src('variants.parquet')} WHERE source NOT IN ('original', 'rewrite', 'given') OR source IS NULL`);
  expect('variants.parquet', bad === 0, `${bad} rows with a source other than original|rewrite|given`);
  const gaps = await scalar(`SELECT count(*) FROM (SELECT query_id, min(variant_id) AS lo, max(variant_id) AS hi, count(*) AS n FROM ${src('variants.parquet')} GROUP BY query_id) WHERE lo <> 0 OR hi <> n - 1`);
  expect('variants.parquet', gaps === 0, `${gaps} queries whose variant_ids are not 0..n-1`);
}
await report('variants.parquet', before);

// rewrites.parquet (when the paraphrase stage ran) ---------------------------
if (manifest.rewrites) {
  before = failures.length;
  const rw = manifest.rewrites;
  if (await checkFile('rewrites.parquet', 'rewrites', rw.kept + rw.rejected + rw.failed, REWRITES)) {
    const r = await rows(`SELECT query_id, attempt AS variant_id FROM ${src('rewrites.parquet')} ORDER BY file_row_number`);
    checkOrder('rewrites.parquet', r, compareSampleKey, false, '(query_id, attempt, item)');
    const badStatus = await scalar(`SELECT count(*) FROM ${src('rewrites.parquet')} WHERE status NOT IN ('kept', 'rejected', 'failed') OR (status = 'kept') <> (variant_id IS NOT NULL) OR (status = 'kept') <> (reason IS NULL)`);
    expect('rewrites.parquet', badStatus === 0, `${badStatus} rows whose status, variant_id and reason disagree`);
    const orphans = await scalar(`SELECT count(*) FROM ${src('rewrites.parquet')} w WHERE status = 'kept' AND NOT EXISTS (SELECT 1 FROM ${src('variants.parquet')} v WHERE v.query_id = w.query_id AND v.variant_id = w.variant_id AND v.source = 'rewrite' AND v.text = w.text)`);
    expect('rewrites.parquet', orphans === 0, `${orphans} kept rewrites that are not a variant of source rewrite with their text`);
  }
  await report('rewrites.parquet', before);
}

// generations.parquet -------------------------------------------------------
before = failures.length;
if (await checkFile('generations.parquet', 'generations', counts.generations, GENERATIONS)) {
  const r = await rows(`SELECT query_id, variant_id, model, sample_index FROM ${src('generations.parquet')} ORDER BY file_row_number`);
  checkOrder('generations.parquet', r, compareSampleKey, true, '(query_id, variant_id, model, sample_index)');
  const dupKeys = await scalar(`SELECT count(*) - count(DISTINCT generation_key) FROM ${src('generations.parquet')}`);
  expect('generations.parquet', dupKeys === 0, `${dupKeys} repeated generation_key values`);
  const errs = await scalar(`SELECT count(*) FROM ${src('generations.parquet')} WHERE error IS NOT NULL`);
  expect('generations.parquet', errs === counts.generation_errors, `${errs} rows with an error, counts.generation_errors is ${counts.generation_errors}`);
  const unknown = await scalar(`SELECT count(*) FROM ${src('generations.parquet')} WHERE model NOT IN (SELECT unnest(${sqlList(models)}))`);
  expect('generations.parquet', unknown === 0, `${unknown} rows with a model not in the manifest`);
  const badTime = await scalar(`SELECT count(*) FROM ${src('generations.parquet')} WHERE created_at IS NULL OR created_at < TIMESTAMPTZ '2000-01-01 00:00:00+00'`);
  expect('generations.parquet', badTime === 0, `${badTime} rows with a null or pre-2000 created_at`);
}
await report('generations.parquet', before);

// sqlList renders strings as a DuckDB list literal.
function sqlList(xs) {
  return `[${xs.map(sqlString).join(', ')}]::VARCHAR[]`;
}

// scores.parquet ------------------------------------------------------------
before = failures.length;
if (await checkFile('scores.parquet', 'scores', scoreTotal, SCORES)) {
  const r = await rows(`SELECT query_id, variant_id, model, sample_index FROM ${src('scores.parquet')} ORDER BY file_row_number`);
  checkOrder('scores.parquet', r, compareSampleKey, false, '(query_id, variant_id, model, sample_index)');
  const byStatus = await rows(`SELECT judge, status, count(*) AS n FROM ${src('scores.parquet')} GROUP BY ALL`);
  const got = {};
  for (const { judge, status, n } of byStatus) (got[judge] ??= {})[status] = num(n);
  const norm = (o) => JSON.stringify(Object.keys(o).sort().map((j) => [j, Object.entries(o[j]).filter(([, n]) => n > 0).sort()]));
  expect('scores.parquet', norm(got) === norm(counts.scores ?? {}), `rows per judge and status ${JSON.stringify(got)}, manifest counts.scores ${JSON.stringify(counts.scores)}`);
  const badScore = await scalar(`SELECT count(*) FROM ${src('scores.parquet')} WHERE status = 'scored' AND (score IS NULL OR score < 0 OR score > 1 OR passed IS NULL)`);
  expect('scores.parquet', badScore === 0, `${badScore} scored rows with a null or out-of-[0,1] score or a null passed`);
  const badNull = await scalar(`SELECT count(*) FROM ${src('scores.parquet')} WHERE status <> 'scored' AND (score IS NOT NULL OR passed IS NOT NULL)`);
  expect('scores.parquet', badNull === 0, `${badNull} rows that are not scored but have a score or passed`);
  if (fs.existsSync(path.join(runDir, 'generations.parquet'))) {
    const orphans = await scalar(`SELECT count(*) FROM ${src('scores.parquet')} s ANTI JOIN ${src('generations.parquet')} g USING (generation_key, query_id, variant_id, model, sample_index)`);
    expect('scores.parquet', orphans === 0, `${orphans} rows whose sample is not in generations.parquet`);
  }
}
await report('scores.parquet', before);

// labels.parquet ------------------------------------------------------------
before = failures.length;
let labelKs = ks;
if (labelKs === null && fs.existsSync(path.join(runDir, 'labels.parquet'))) {
  const cols = await rows(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path.join(runDir, 'labels.parquet'))})`);
  labelKs = cols.map((c) => /^pass_at_([1-9][0-9]*)$/.exec(c.column_name)).filter(Boolean).map((m) => Number(m[1]));
  console.log(`note: no pass@k list in manifest.json; using the labels file's ${JSON.stringify(labelKs)}`);
}
labelKs ??= [];
if (await checkFile('labels.parquet', 'labels', counts.queries * counts.models, labelsColumns(labelKs))) {
  const L = src('labels.parquet');
  const r = await rows(`SELECT query_id, model FROM ${L} ORDER BY file_row_number`);
  checkOrder('labels.parquet', r, (a, b) => compareQueryID(a.query_id, b.query_id), false, 'query_id');
  // Within a query: every model once, in the run's model order.
  const perQuery = new Map();
  for (const { query_id: q, model: m } of r) (perQuery.get(q) ?? perQuery.set(q, []).get(q)).push(m);
  let badModels = 0;
  for (const [q, ms] of perQuery) {
    if (ms.join('\n') !== models.join('\n') && badModels++ === 0) {
      fail('labels.parquet', `query_id ${JSON.stringify(q)} has models [${ms.join(', ')}], want [${models.join(', ')}] in that order`);
    }
  }
  if (badModels > 1) fail('labels.parquet', `${badModels} queries in all have the wrong models or model order`);

  const outside = await scalar(`SELECT count(*) FROM ${L} WHERE n > 0 AND (mean IS NULL OR mean < 0 OR mean > 1)`);
  expect('labels.parquet', outside === 0, `${outside} rows with n > 0 and a mean that is null or outside [0, 1]`);
  const badCI = await scalar(`SELECT count(*) FROM ${L} WHERE n > 0 AND NOT (0 <= ci_low AND ci_low <= ci_high AND ci_high <= 1)`);
  expect('labels.parquet', badCI === 0, `${badCI} rows with n > 0 whose interval is not 0 <= ci_low <= ci_high <= 1`);
  const badSucc = await scalar(`SELECT count(*) FROM ${L} WHERE successes < 0 OR successes > n OR n < 0 OR n_unscored < 0 OR n_error < 0`);
  expect('labels.parquet', badSucc === 0, `${badSucc} rows with negative counts or successes > n`);
  for (let i = 0; i < labelKs.length; i++) {
    const c = ident(`pass_at_${labelKs[i]}`);
    const bad = await scalar(`SELECT count(*) FROM ${L} WHERE ${c} < 0 OR ${c} > 1 + ${EPS}`);
    expect('labels.parquet', bad === 0, `${bad} rows with pass_at_${labelKs[i]} outside [0, 1]`);
    if (i > 0 && labelKs[i] > labelKs[i - 1]) {
      const prev = ident(`pass_at_${labelKs[i - 1]}`);
      const down = await scalar(`SELECT count(*) FROM ${L} WHERE ${c} < ${prev} - ${EPS}`);
      expect('labels.parquet', down === 0, `${down} rows with pass_at_${labelKs[i]} < pass_at_${labelKs[i - 1]}`);
    }
  }
  // variant_means has one entry per variant of the query.
  const lens = await rows(`SELECT query_id, min(len(variant_means)) AS lo, max(len(variant_means)) AS hi FROM ${L} GROUP BY query_id`);
  let badLen = 0;
  for (const { query_id: q, lo, hi } of lens) {
    const want = variantsPerQuery.get(q);
    if (want !== undefined && (num(lo) !== want || num(hi) !== want) && badLen++ === 0) {
      fail('labels.parquet', `query_id ${JSON.stringify(q)}: variant_means has ${num(lo)}..${num(hi)} entries, the query has ${want} variants`);
    }
  }
  if (badLen > 1) fail('labels.parquet', `${badLen} queries in all have variant_means of the wrong length`);
  if (counts.queries > 0 && counts.variants % counts.queries === 0 && fs.existsSync(path.join(runDir, 'variants.parquet'))) {
    const per = counts.variants / counts.queries;
    const other = await scalar(`SELECT count(*) FROM ${L} WHERE len(variant_means) <> ${per}`);
    expect('labels.parquet', other === 0, `${other} rows whose variant_means does not have ${per} entries (counts.variants / counts.queries)`);
  }
  const badVM = await scalar(`SELECT count(*) FROM ${L} WHERE list_min(variant_means) < 0 OR list_max(variant_means) > 1`);
  expect('labels.parquet', badVM === 0, `${badVM} rows with a variant mean outside [0, 1]`);
  // Every generation of a (query, model) is counted once: scored, unscored or error.
  if (fs.existsSync(path.join(runDir, 'generations.parquet'))) {
    const mism = await rows(`SELECT l.query_id, l.model, l.n + l.n_unscored + l.n_error AS counted, coalesce(g.c, 0) AS gens
      FROM ${L} l LEFT JOIN (SELECT query_id, model, count(*) AS c FROM ${src('generations.parquet')} GROUP BY ALL) g USING (query_id, model)
      WHERE l.n + l.n_unscored + l.n_error <> coalesce(g.c, 0) LIMIT 3`);
    expect('labels.parquet', mism.length === 0, `n + n_unscored + n_error differs from the generations per (query_id, model), e.g. ${JSON.stringify(mism.map((m) => ({ ...m, counted: num(m.counted), gens: num(m.gens) })))}`);
  }
  // successes = primary judge's passed scores.
  if (primaryJudge !== null && fs.existsSync(path.join(runDir, 'scores.parquet'))) {
    const mism = await rows(`SELECT l.query_id, l.model, l.successes, coalesce(s.p, 0) AS passed, l.n, coalesce(s.c, 0) AS scored
      FROM ${L} l LEFT JOIN (SELECT query_id, model, count(*) FILTER (WHERE passed) AS p, count(*) AS c FROM ${src('scores.parquet')}
        WHERE judge = ${sqlString(primaryJudge)} AND status = 'scored' GROUP BY ALL) s USING (query_id, model)
      WHERE l.successes <> coalesce(s.p, 0) OR l.n <> coalesce(s.c, 0) LIMIT 3`);
    expect('labels.parquet', mism.length === 0, `successes / n differ from judge ${JSON.stringify(primaryJudge)}'s passed / scored rows, e.g. ${JSON.stringify(mism, (k, v) => (typeof v === 'bigint' ? Number(v) : v))}`);
  }
  // P(best) over a query's models sums to 1, and at most one model is best.
  const pb = await rows(`SELECT query_id, sum(p_best) AS s, count(*) FILTER (WHERE is_best) AS nbest, count(p_best) AS np FROM ${L} GROUP BY query_id`);
  let badSum = 0;
  let badBest = 0;
  for (const { query_id: q, s, nbest, np } of pb) {
    if (num(nbest) > 1 && badBest++ === 0) fail('labels.parquet', `query_id ${JSON.stringify(q)} has ${num(nbest)} rows with is_best`);
    if (num(nbest) === 1 && (num(np) === 0 || Math.abs(s - 1) > 1e-6) && badSum++ === 0) {
      fail('labels.parquet', `query_id ${JSON.stringify(q)}: p_best sums to ${s}, want 1`);
    }
  }
  if (badBest > 1) fail('labels.parquet', `${badBest} queries in all have several best models`);
  if (badSum > 1) fail('labels.parquet', `${badSum} queries in all have p_best not summing to 1`);
}
await report('labels.parquet', before);

// routes.parquet ------------------------------------------------------------
before = failures.length;
if (await checkFile('routes.parquet', 'routes', counts.queries, routesColumns(models))) {
  const R = src('routes.parquet');
  const r = await rows(`SELECT query_id FROM ${R} ORDER BY file_row_number`);
  checkOrder('routes.parquet', r, (a, b) => compareQueryID(a.query_id, b.query_id), true, 'query_id');
  if (models.length > 0) {
    const sum = models.map((m) => `coalesce(${ident(`p_best_${m}`)}, 0)`).join(' + ');
    const bad = await rows(`SELECT query_id, ${sum} AS s FROM ${R} WHERE best_model IS NOT NULL AND abs(${sum} - 1) > 1e-6 LIMIT 3`);
    expect('routes.parquet', bad.length === 0, `p_best_<model> does not sum to 1 where best_model is set, e.g. ${JSON.stringify(bad)}`);
  }
  const noBest = await scalar(`SELECT count(*) FROM ${R} WHERE best_model IS NULL`);
  const withBest = counts.queries - noBest;
  expect('routes.parquet', withBest > 0 || counts.queries === 0, 'no query has a best_model');
  const badModel = await scalar(`SELECT count(*) FROM ${R} WHERE best_model NOT IN (SELECT unnest(${sqlList(models)})) OR single_shot_best_model NOT IN (SELECT unnest(${sqlList(models)}))`);
  expect('routes.parquet', badModel === 0, `${badModel} rows whose best_model or single_shot_best_model is not a run model`);
  const badFlip = await scalar(`SELECT count(*) FROM ${R} WHERE single_shot_flip_rate < 0 OR single_shot_flip_rate > 1`);
  expect('routes.parquet', badFlip === 0, `${badFlip} rows with single_shot_flip_rate outside [0, 1]`);
  if (fs.existsSync(path.join(runDir, 'labels.parquet')) && models.length > 0) {
    // The route agrees with the labels: its best model is the labels' is_best
    // row, and its p_best_<model> is that model's labels p_best.
    const L = src('labels.parquet');
    const bestMism = await rows(`SELECT r.query_id, r.best_model, l.model AS labels_best FROM ${R} r
      FULL JOIN (SELECT query_id, model FROM ${L} WHERE is_best) l USING (query_id)
      WHERE r.best_model IS DISTINCT FROM l.model LIMIT 3`);
    expect('routes.parquet', bestMism.length === 0, `best_model differs from labels.parquet's is_best, e.g. ${JSON.stringify(bestMism)}`);
    const cases = models.map((m) => `WHEN ${sqlString(m)} THEN r.${ident(`p_best_${m}`)}`).join(' ');
    const pbMism = await rows(`SELECT query_id, model, p_best, route_p FROM (
        SELECT l.query_id, l.model, l.p_best, CASE l.model ${cases} END AS route_p FROM ${L} l JOIN ${R} r USING (query_id))
      WHERE (route_p IS NULL) <> (p_best IS NULL) OR abs(route_p - p_best) > 1e-12 LIMIT 3`);
    expect('routes.parquet', pbMism.length === 0, `p_best_<model> differs from labels.parquet's p_best, e.g. ${JSON.stringify(pbMism)}`);
  }
}
await report('routes.parquet', before);

// sim_truth.parquet ---------------------------------------------------------
before = failures.length;
if (simModels.length > 0 || fs.existsSync(path.join(runDir, 'sim_truth.parquet'))) {
  if (await checkFile('sim_truth.parquet', 'sim_truth', counts.variants * simModels.length, TRUTH)) {
    const T = src('sim_truth.parquet');
    const r = await rows(`SELECT query_id, variant_id, model FROM ${T} ORDER BY file_row_number`);
    checkOrder('sim_truth.parquet', r, compareSampleKey, true, '(query_id, variant_id, model)');
    const badP = await scalar(`SELECT count(*) FROM ${T} WHERE p IS NULL OR p < 0 OR p > 1`);
    expect('sim_truth.parquet', badP === 0, `${badP} rows with p null or outside [0, 1]`);
    const notSim = await scalar(`SELECT count(*) FROM ${T} WHERE model NOT IN (SELECT unnest(${sqlList(simModels)}))`);
    expect('sim_truth.parquet', notSim === 0, `${notSim} rows for a model that is not a sim model`);
  }
  await report('sim_truth.parquet', before);
}

conn.closeSync?.();
instance.closeSync?.();

if (failures.length > 0) {
  console.error(`\ninterop check FAILED: ${failures.length} failure${failures.length > 1 ? 's' : ''} in ${runDir}`);
  for (const f of failures) console.error(`  - ${f}`);
  console.log(`interop: ${passed} passed, ${failures.length} failed`);
  process.exit(1);
}
console.log(`${reported.size} Parquet files in ${runDir} read by DuckDB with the documented schemas`);
console.log(`interop: ${passed} passed, 0 failed`);
