// Entry point of one part's process; `wharf serve` forks it (see supervisor.ts).
import { runPartProcess } from './part-process.ts';

runPartProcess();
