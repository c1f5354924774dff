/** The launcher's kind of run (src/launch/run-shape.ts): which code cache a command line uses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runShape } from '../../src/launch/run-shape';

const cases: Array<[string[], string]> = [
  [[], ''],
  [['-store', 'memory'], ''],
  [['-store', 'file', '-dir', '/d'], 'file'],
  [['--store=FILE'], 'file'],
  [['-st', 'sql', '--sql_driver', 'postgres', '--sql_source', 'x'], 'sql-postgres'],
  [['--store', 'sql', '--sql_driver=mysql'], 'sql-mysql'],
  [['--store', 'sql', '--sql_driver', 'oracle'], 'sql'],
  [['-sc', '/etc/stan.conf'], 'config'],
  [['import', '--from_dir', '/d'], 'import'],
  [['migrate', '--sql_driver', 'postgres'], 'migrate'],
  [['-store', 'file', '-dir', '/d', '--ft_group', 'g'], 'file-ft'],
  [['--ft_group=g'], 'memory-ft'],
  [['-store', 'sql', '--sql_driver', 'postgres', '-ft_group', 'g'], 'sql-postgres-ft'],
  [['-sc', '/etc/stan.conf', '--ft_group', 'g'], 'config-ft'],
  [['--', '--ft_group', 'g'], ''],
];

for (const [argv, want] of cases) {
  test(`runShape(${JSON.stringify(argv)}) is ${JSON.stringify(want)}`, () => {
    assert.equal(runShape(argv), want);
  });
}

test('an FT member never shares the cache of the same store without FT', () => {
  const plain = runShape(['-store', 'file', '-dir', '/d']);
  const ft = runShape(['-store', 'file', '-dir', '/d', '--ft_group', 'g']);
  assert.notEqual(plain, ft);
});
