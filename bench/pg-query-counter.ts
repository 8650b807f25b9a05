/**
 * Preloaded into a registry process by bench/replicas.ts (`NODE_OPTIONS=--import …`): counts every query the
 * `pg` client sends (one query is one round trip: node-postgres pipelines nothing), and on SIGUSR2 writes the
 * count to `$WHARF_PG_COUNT_FILE`. The benchmark divides the difference over a run by the requests it made.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { countPgQueries } from './pg-query-count.ts';

const file = process.env.WHARF_PG_COUNT_FILE;
if (file) {
  const queries = countPgQueries();
  // Written aside and renamed: the benchmark polls for the file and must never read it empty or half written.
  process.on('SIGUSR2', () => {
    writeFileSync(`${file}.tmp`, String(queries()));
    renameSync(`${file}.tmp`, file);
  });
}
