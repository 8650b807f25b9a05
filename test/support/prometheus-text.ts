export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

// Values as Go's ParseFloat reads them, which Prometheus uses: `NaN` and `Inf` in any case (prom-client writes `Nan`).
const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([+-]?(?:[0-9][0-9.eE+-]*|\.[0-9][0-9eE+-]*|inf|nan))(?: -?\d+)?$/i;

/**
 * Parses the Prometheus text exposition (0.0.4) strictly: a line that is neither a comment nor a well-formed
 * sample throws, and every sample must belong to a family declared by a `# TYPE` line before it.
 */
export function parsePrometheusText(text: string): PromSample[] {
  const families = new Map<string, string>();
  const samples: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) families.set(type[1], type[2]);
    if (line.startsWith('#')) continue;
    const match = sampleLine.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const [, name, labelText, value] = match;
    const family = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    if (!families.has(family)) throw new Error(`sample ${name} has no # TYPE line before it`);
    samples.push({ name, labels: parseLabels(labelText ?? ''), value: parseValue(value) });
  }
  return samples;
}

function parseValue(text: string): number {
  const lower = text.toLowerCase();
  if (lower.endsWith('inf')) return lower.startsWith('-') ? -Infinity : Infinity;
  if (lower.endsWith('nan')) return Number.NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`not a sample value: ${text}`);
  return value;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
  while (labelPair.lastIndex < text.length) {
    const at = labelPair.lastIndex;
    const pair = labelPair.exec(text);
    if (!pair) throw new Error(`malformed labels at ${at}: {${text}}`);
    labels[pair[1]] = pair[2].replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** The sum of every sample named `name` whose labels include `labels`; 0 when there is none. */
export function metricValue(samples: PromSample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** GETs a metrics URL and parses it; throws unless the answer is a 200 in the text format. */
export async function scrapeMetrics(url: string, headers: Record<string, string> = {}): Promise<PromSample[]> {
  const response = await fetch(url, { headers });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${body.slice(0, 300)}`);
  if (!response.headers.get('content-type')?.startsWith('text/plain; version=0.0.4')) throw new Error(`GET ${url}: content-type ${response.headers.get('content-type')}`);
  return parsePrometheusText(body);
}
