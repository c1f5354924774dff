/**
 * Portability of the SQL schema's identifiers: no table, column, index or constraint name is a
 * reserved word of MySQL 8, PostgreSQL or SQLite (the reference's `row` column broke MySQL 8,
 * which is not in Debian, so the lists are checked here instead of on a live server).
 *
 * The names come from the schema itself: `TABLES`/`INDEXES` of src/store/sql/schema.ts and
 * every identifier the migrations' DDL quotes, compiled for each dialect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INDEXES, TABLES } from '../../src/store/sql/schema';
import { MIGRATIONS } from '../../migrations';
import { SQL_DIALECTS } from '../../src/store/sql/migration-types';
import { builderStatements, migrationsTableBuilder } from '../../src/store/sql/migrator';
import { offlineKnex } from '../../src/store/sql/gen-sql';

/** MySQL 8.0/8.4 reserved words (the "(R)" entries of the manual's keyword list). */
const MYSQL8_RESERVED = `
ACCESSIBLE ADD ALL ALTER ANALYZE AND AS ASC ASENSITIVE BEFORE BETWEEN BIGINT BINARY BLOB BOTH BY
CALL CASCADE CASE CHANGE CHAR CHARACTER CHECK COLLATE COLUMN CONDITION CONSTRAINT CONTINUE CONVERT
CREATE CROSS CUBE CUME_DIST CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATABASE
DATABASES DAY_HOUR DAY_MICROSECOND DAY_MINUTE DAY_SECOND DEC DECIMAL DECLARE DEFAULT DELAYED DELETE
DENSE_RANK DESC DESCRIBE DETERMINISTIC DISTINCT DISTINCTROW DIV DOUBLE DROP DUAL EACH ELSE ELSEIF
EMPTY ENCLOSED ESCAPED EXCEPT EXISTS EXIT EXPLAIN FALSE FETCH FIRST_VALUE FLOAT FLOAT4 FLOAT8 FOR
FORCE FOREIGN FROM FULLTEXT FUNCTION GENERATED GET GRANT GROUP GROUPING GROUPS HAVING HIGH_PRIORITY
HOUR_MICROSECOND HOUR_MINUTE HOUR_SECOND IF IGNORE IN INDEX INFILE INNER INOUT INSENSITIVE INSERT INT
INT1 INT2 INT3 INT4 INT8 INTEGER INTERSECT INTERVAL INTO IO_AFTER_GTIDS IO_BEFORE_GTIDS IS ITERATE
JOIN JSON_TABLE KEY KEYS KILL LAG LAST_VALUE LATERAL LEAD LEADING LEAVE LEFT LIKE LIMIT LINEAR LINES
LOAD LOCALTIME LOCALTIMESTAMP LOCK LONG LONGBLOB LONGTEXT LOOP LOW_PRIORITY MANUAL MASTER_BIND
MASTER_SSL_VERIFY_SERVER_CERT MATCH MAXVALUE MEDIUMBLOB MEDIUMINT MEDIUMTEXT MIDDLEINT
MINUTE_MICROSECOND MINUTE_SECOND MOD MODIFIES NATURAL NOT NO_WRITE_TO_BINLOG NTH_VALUE NTILE NULL
NUMERIC OF ON OPTIMIZE OPTIMIZER_COSTS OPTION OPTIONALLY OR ORDER OUT OUTER OUTFILE OVER PARALLEL
PARTITION PERCENT_RANK PRECISION PRIMARY PROCEDURE PURGE QUALIFY RANGE RANK READ READS READ_WRITE
REAL RECURSIVE REFERENCES REGEXP RELEASE RENAME REPEAT REPLACE REQUIRE RESIGNAL RESTRICT RETURN
REVOKE RIGHT RLIKE ROW ROWS ROW_NUMBER SCHEMA SCHEMAS SECOND_MICROSECOND SELECT SENSITIVE SEPARATOR
SET SHOW SIGNAL SMALLINT SPATIAL SPECIFIC SQL SQLEXCEPTION SQLSTATE SQLWARNING SQL_BIG_RESULT
SQL_CALC_FOUND_ROWS SQL_SMALL_RESULT SSL STARTING STORED STRAIGHT_JOIN SYSTEM TABLE TABLESAMPLE
TERMINATED THEN TINYBLOB TINYINT TINYTEXT TO TRAILING TRIGGER TRUE UNDO UNION UNIQUE UNLOCK UNSIGNED
UPDATE USAGE USE USING UTC_DATE UTC_TIME UTC_TIMESTAMP VALUES VARBINARY VARCHAR VARCHARACTER VARYING
VIRTUAL WHEN WHERE WHILE WINDOW WITH WRITE XOR YEAR_MONTH ZEROFILL`;

/** PostgreSQL reserved key words, and those reserved except as function or type names. */
const POSTGRES_RESERVED = `
ALL ANALYSE ANALYZE AND ANY ARRAY AS ASC ASYMMETRIC BOTH CASE CAST CHECK COLLATE COLUMN CONSTRAINT
CREATE CURRENT_CATALOG CURRENT_DATE CURRENT_ROLE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DEFAULT
DEFERRABLE DESC DISTINCT DO ELSE END EXCEPT FALSE FETCH FOR FOREIGN FROM GRANT GROUP HAVING IN
INITIALLY INTERSECT INTO LATERAL LEADING LIMIT LOCALTIME LOCALTIMESTAMP NOT NULL OFFSET ON ONLY OR
ORDER PLACING PRIMARY REFERENCES RETURNING SELECT SESSION_USER SOME SYMMETRIC SYSTEM_USER TABLE THEN
TO TRAILING TRUE UNION UNIQUE USER USING VARIADIC WHEN WHERE WINDOW WITH
AUTHORIZATION BINARY COLLATION CONCURRENTLY CROSS CURRENT_SCHEMA FREEZE FULL ILIKE INNER IS ISNULL
JOIN LEFT LIKE NATURAL NOTNULL OUTER OVERLAPS RIGHT SIMILAR TABLESAMPLE VERBOSE`;

/** SQLite's keywords (sqlite.org/lang_keywords.html): it accepts many as names, we use none. */
const SQLITE_KEYWORDS = `
ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN
BY CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT
CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH
DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST
FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX
INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH
MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER
PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE
RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY
THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN
WHERE WINDOW WITH WITHOUT`;

const words = (s: string): Set<string> => new Set(s.split(/\s+/).filter((w) => w !== '').map((w) => w.toLowerCase()));
const LISTS: Record<string, Set<string>> = {
  'MySQL 8': words(MYSQL8_RESERVED),
  PostgreSQL: words(POSTGRES_RESERVED),
  SQLite: words(SQLITE_KEYWORDS),
};

/** Problems with one identifier: reserved somewhere, not lower-case snake, too long. */
function identifierProblems(name: string): string[] {
  const p: string[] = [];
  for (const [db, list] of Object.entries(LISTS)) if (list.has(name.toLowerCase())) p.push(`${name} is reserved in ${db}`);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) p.push(`${name} is not a lower-case unquoted identifier`);
  if (name.length > 63) p.push(`${name} is longer than PostgreSQL's 63 characters`);
  return p;
}

/** Identifiers quoted in the DDL of every migration (and the migrations table), per dialect. */
async function ddlIdentifiers(): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const dialect of SQL_DIALECTS) {
    const knex = offlineKnex(dialect);
    try {
      const stmts = await builderStatements(migrationsTableBuilder(knex, dialect));
      for (const m of MIGRATIONS) for (const b of m.build(knex, dialect)) stmts.push(...(await builderStatements(b)));
      for (const s of stmts) for (const x of s.matchAll(/["`]([^"`]+)["`]/g)) ids.add(x[1] as string);
    } finally {
      await knex.destroy();
    }
  }
  return ids;
}

test('the reserved-word lists catch the classic offenders (the check can fail)', () => {
  for (const w of ['row', 'rows', 'key', 'order', 'group', 'ROW']) assert.ok(identifierProblems(w).length > 0, w);
  assert.ok(identifierProblems('user').some((p) => p.includes('PostgreSQL')));
  assert.ok(identifierProblems('constraintName').some((p) => p.includes('lower-case')));
  // MySQL 8 non-reserved keywords are allowed as names.
  for (const w of ['data', 'timestamp', 'size', 'name', 'kind', 'body', 'seq', 'ts']) {
    assert.deepEqual(identifierProblems(w), [], w);
  }
});

test('schema.ts tables, columns and indexes use no reserved word', () => {
  const names = new Set<string>(Object.values(INDEXES));
  for (const [table, cols] of Object.entries(TABLES)) {
    assert.match(table, /^stan_/, `table ${table} is not prefixed stan_`);
    names.add(table);
    for (const c of cols) names.add(c);
  }
  assert.ok(names.has('stan_messages') && names.has('seq'), 'names read from schema.ts');
  const problems = [...names].flatMap(identifierProblems);
  assert.deepEqual(problems, []);
});

test('every identifier in the migrations DDL is portable and declared in schema.ts', async () => {
  const ids = await ddlIdentifiers();
  assert.ok(ids.size >= 20, `found ${ids.size} identifiers`);
  assert.deepEqual([...ids].flatMap(identifierProblems), []);
  const declared = new Set<string>(Object.values(INDEXES));
  for (const [t, cols] of Object.entries(TABLES)) {
    declared.add(t);
    for (const c of cols) declared.add(`${c}`);
  }
  // Primary key constraint names are derived by Knex (`<table>_pkey`).
  const undeclared = [...ids].filter((i) => !declared.has(i) && !/^stan_[a-z_]+_pkey$/.test(i));
  assert.deepEqual(undeclared, [], 'identifiers used by migrations but missing from schema.ts');
  for (const d of declared) assert.ok(ids.has(d), `${d} is declared in schema.ts but no migration creates it`);
});
