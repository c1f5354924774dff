/**
 * A DBA's rule, as a trigger: the database refuses every message row whose payload contains
 * `poison` (storePoisoned in store.ts writes such payloads). The store must leave those rows
 * out and keep the rest of their group commit (issue 9).
 */
import type { Knex } from 'knex';

export type PoisonDialect = 'sqlite' | 'postgres' | 'mariadb';

const POISON_TRIGGER: Record<PoisonDialect, string[]> = {
  sqlite: [
    `CREATE TRIGGER no_poison BEFORE INSERT ON stan_messages WHEN instr(NEW.data, CAST('poison' AS BLOB)) > 0 BEGIN SELECT RAISE(ABORT, 'poison payload refused'); END`,
  ],
  postgres: [
    `CREATE FUNCTION no_poison() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF position('poison'::bytea in NEW.data) > 0 THEN RAISE EXCEPTION 'poison payload refused'; END IF;
       RETURN NEW;
     END $$`,
    'CREATE TRIGGER no_poison BEFORE INSERT ON stan_messages FOR EACH ROW EXECUTE FUNCTION no_poison()',
  ],
  mariadb: [
    `CREATE TRIGGER no_poison BEFORE INSERT ON stan_messages FOR EACH ROW
     BEGIN
       IF LOCATE('poison', NEW.data) > 0 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poison payload refused'; END IF;
     END`,
  ],
};

/** Installs the rule (once per database: it stays across the store's restarts). */
export async function refusePoison(knex: Knex, dialect: PoisonDialect): Promise<void> {
  for (const sql of POISON_TRIGGER[dialect]) await knex.raw(sql);
}
