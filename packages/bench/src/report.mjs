/**
 * Turns samples into medians and ratios, and renders them as Markdown (docs/benchmarks.md) and as
 * plain text tables for the terminal.
 *
 * Every ratio is wsgate ÷ baseline (or native ÷ floor, native + pino ÷ native) of the medians. For rates (handshakes/s,
 * round-trips/s) higher is better; for costs (latency, CPU, memory) lower is better. A figure
 * more than 5 % worse than the native choice is marked ⚠.
 */
import { HANDSHAKES } from './requests.mjs';
import { VARIANTS } from './servers.mjs';

export const FRAMEWORKS = ['express', 'koa', 'fastify'];
const TOLERANCE = 0.95;

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function variantOf(framework, role) {
  return Object.keys(VARIANTS).find(
    (name) => VARIANTS[name].framework === framework && VARIANTS[name].role === role,
  );
}

/**
 * The baselines a variant is compared with: its framework's native choice (for wsgate, and for the
 * native choice with logging, where the ratio is what its logging costs), and the floor.
 */
function baselinesOf(variant) {
  const { framework, role } = VARIANTS[variant];
  return {
    native:
      role.startsWith('wsgate') || role === 'native-logged' ? variantOf(framework, 'native') : undefined,
    floor: role === 'floor' ? undefined : 'floor',
  };
}

/** Medians per group, keyed by `key(sample)`, of the numeric fields named in `fields`. */
function mediansBy(samples, key, fields) {
  const groups = new Map();
  for (const sample of samples) {
    const k = key(sample);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(sample);
  }
  const out = new Map();
  for (const [k, group] of groups) {
    const row = { rounds: group.length };
    for (const field of fields) row[field] = median(group.map((s) => s[field]));
    // Spread of the first field (the rate): (max − min) ÷ median, for the reader's sense of noise.
    const rate = group.map((s) => s[fields[0]]);
    row.spread = (Math.max(...rate) - Math.min(...rate)) / row[fields[0]];
    row.first = group[0];
    out.set(k, row);
  }
  return out;
}

/**
 * Summaries: medians per (scenario, variant) and ratios to the baselines.
 * @param {Awaited<ReturnType<typeof import('./suite.mjs').runSuite>>} results
 */
export function summarize(results) {
  const handshakes = mediansBy(results.handshakes, (s) => `${s.scenario}|${s.variant}`, [
    'perSecond',
    'p50Ms',
    'p99Ms',
    'cpuMicrosPer',
    'peakRssBytes',
  ]);
  const echo = mediansBy(results.echo, (s) => `${s.connections}|${s.variant}`, [
    'perSecond',
    'p50Ms',
    'p99Ms',
    'cpuMicrosPer',
  ]);
  const idle = mediansBy(results.idle, (s) => s.variant, ['rssBytesPer', 'heapBytesPer', 'opened']);
  return { handshakes, echo, idle };
}

function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN;
}

/** A ratio as text, ⚠ when it is more than 5 % worse than the baseline in the metric's direction. */
function showRatio(value, higherIsBetter, flag) {
  if (!Number.isFinite(value)) return '–';
  const worse = higherIsBetter ? value < TOLERANCE : value > 1 / TOLERANCE;
  return `${value.toFixed(2)}${flag && worse ? ' ⚠' : ''}`;
}

const fmt = {
  int: (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–'),
  ms: (v) => (Number.isFinite(v) ? v.toFixed(v < 1 ? 3 : 2) : '–'),
  us: (v) => (Number.isFinite(v) ? v.toFixed(0) : '–'),
  mb: (v) => (Number.isFinite(v) ? (v / 1048576).toFixed(0) : '–'),
  kb: (v) => (Number.isFinite(v) ? (v / 1024).toFixed(1) : '–'),
  pct: (v) => (Number.isFinite(v) ? `${Math.round(v * 100)} %` : '–'),
};

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function label(variant) {
  const v = VARIANTS[variant];
  return v.role.startsWith('wsgate') ? `**${v.label}**` : v.label;
}

/**
 * The wsgate configurations compared with the native choices: logging off, then on (pino to a
 * file), then @wsgate/otel on (metrics and spans on the real OpenTelemetry SDK, no logger).
 */
export const CONFIGURATIONS = [
  { role: 'wsgate', title: 'logging off' },
  { role: 'wsgate-logged', title: 'logging on' },
  { role: 'wsgate-otel', title: 'otel on' },
];

/**
 * The summary's comparisons: every configuration ÷ the native choice (which logs nothing), and
 * logging on ÷ the native choice logging the same records by hand with the same pino logger
 * (`native + pino`), right after its `÷ native` column.
 */
const COMPARISONS = CONFIGURATIONS.flatMap((c) => [
  { ...c, baseline: 'native' },
  ...(c.role === 'wsgate-logged' ? [{ ...c, baseline: 'native-logged', title: 'logging on both' }] : []),
]);

/** The key of a comparison's value in {@link headlineRatios}' `values`. */
function keyOfComparison(framework, { role, baseline }) {
  return baseline === 'native' ? `${framework}|${role}` : `${framework}|${role}|${baseline}`;
}

/**
 * What @wsgate/otel costs: per framework and handshake scenario, handshakes/s and server CPU per
 * handshake with the instrumentation on ÷ the same adapter with it off (both without a logger).
 */
export function renderOtelOverhead(summary) {
  return renderOverhead(summary, 'wsgate-otel', 'wsgate', 'otel off', 'otel on');
}

/**
 * What the lifecycle costs: the heartbeat (wsgate's default, on ÷ off) and the connection limits
 * (every limit set ÷ none), per handshake and per idle connection, all without a logger.
 */
export function renderLifecycleOverhead(summary) {
  const handshakes = [
    renderOverhead(summary, 'wsgate', 'wsgate-bare', 'heartbeat off', 'heartbeat on', ['accepted']),
    renderOverhead(summary, 'wsgate-limits', 'wsgate', 'no limits', 'limits', ['accepted']),
  ];
  const rows = [];
  for (const framework of FRAMEWORKS) {
    const bare = summary.idle.get(variantOf(framework, 'wsgate-bare'));
    const on = summary.idle.get(variantOf(framework, 'wsgate'));
    const limited = summary.idle.get(variantOf(framework, 'wsgate-limits'));
    if (!bare || !on) continue;
    rows.push([
      framework,
      fmt.kb(bare.heapBytesPer),
      fmt.kb(on.heapBytesPer),
      showRatio(ratio(on.heapBytesPer, bare.heapBytesPer), false, false),
      limited ? showRatio(ratio(limited.heapBytesPer, on.heapBytesPer), false, false) : '',
      showRatio(ratio(on.rssBytesPer, bare.rssBytesPer), false, false),
    ]);
  }
  const idle =
    rows.length === 0
      ? ''
      : table(
          [
            'framework',
            'heap per idle connection (KB), heartbeat off',
            'heartbeat on (KB)',
            'heap on ÷ off',
            'heap limits ÷ no limits',
            'RSS on ÷ off',
          ],
          rows,
        );
  return [...handshakes, idle].filter((part) => part !== '').join('\n\n');
}

/** Per framework and handshake scenario: `on` ÷ `off`, handshakes/s and server CPU per handshake. */
function renderOverhead(summary, onRole, offRole, offTitle, onTitle, scenarios = Object.keys(HANDSHAKES)) {
  const rows = [];
  for (const scenario of scenarios) {
    const keyOf = (v) => `${scenario}|${v}`;
    for (const framework of FRAMEWORKS) {
      const off = summary.handshakes.get(keyOf(variantOf(framework, offRole)));
      const on = summary.handshakes.get(keyOf(variantOf(framework, onRole)));
      if (!off || !on) continue;
      rows.push([
        HANDSHAKES[scenario].title,
        framework,
        fmt.int(off.perSecond),
        fmt.int(on.perSecond),
        showRatio(ratio(on.perSecond, off.perSecond), true, false),
        showRatio(ratio(on.cpuMicrosPer, off.cpuMicrosPer), false, false),
      ]);
    }
  }
  if (rows.length === 0) return '';
  return table(
    [
      'scenario',
      'framework',
      `handshakes/s, ${offTitle}`,
      `handshakes/s, ${onTitle}`,
      'handshakes/s ÷',
      'CPU per handshake ÷',
    ],
    rows,
  );
}

/** Variants in display order: floor, then per framework wsgate (logging off, on) and native. */
function ordered(present) {
  const names = [
    'floor',
    ...FRAMEWORKS.flatMap((f) => [
      ...CONFIGURATIONS.map(({ role }) => variantOf(f, role)),
      // The lifecycle configurations (heartbeat off, limits set): in the details, not the summary.
      variantOf(f, 'wsgate-bare'),
      variantOf(f, 'wsgate-limits'),
      variantOf(f, 'native'),
      variantOf(f, 'native-logged'),
    ]),
  ];
  return names.filter((name) => name && present(name));
}

function ratioCells(groups, keyOf, variant, fields) {
  const { native, floor } = baselinesOf(variant);
  const own = groups.get(keyOf(variant));
  const cells = [];
  for (const [field, higherIsBetter] of fields) {
    const n = native && groups.get(keyOf(native));
    cells.push(n ? showRatio(ratio(own[field], n[field]), higherIsBetter, true) : '');
  }
  const f = floor && groups.get(keyOf(floor));
  const [rateField, higherIsBetter] = fields[0];
  cells.push(f ? showRatio(ratio(own[rateField], f[rateField]), higherIsBetter, false) : '');
  return cells;
}

/**
 * The headline ratios, wsgate ÷ native per framework and configuration (`values['express|wsgate']`
 * with logging off, `values['express|wsgate-logged']` with logging on), and logging on ÷ native
 * with the same logging (`values['express|wsgate-logged|native-logged']`), for the summary table
 * and the README.
 * @returns {{ metric: string, values: Record<string, number>, higherIsBetter: boolean }[]}
 */
export function headlineRatios(summary) {
  const rows = [];
  const add = (metric, groups, keyOf, field, higherIsBetter) => {
    const values = {};
    for (const framework of FRAMEWORKS) {
      for (const comparison of COMPARISONS) {
        const n = groups.get(keyOf(variantOf(framework, comparison.baseline)));
        const w = groups.get(keyOf(variantOf(framework, comparison.role)));
        values[keyOfComparison(framework, comparison)] = w && n ? ratio(w[field], n[field]) : Number.NaN;
      }
    }
    rows.push({ metric, values, higherIsBetter });
  };
  for (const scenario of Object.keys(HANDSHAKES)) {
    const keyOf = (v) => `${scenario}|${v}`;
    add(`${HANDSHAKES[scenario].title}: handshakes/s`, summary.handshakes, keyOf, 'perSecond', true);
    add(
      `${HANDSHAKES[scenario].title}: server CPU per handshake`,
      summary.handshakes,
      keyOf,
      'cpuMicrosPer',
      false,
    );
  }
  add('idle connection: server RSS per connection', summary.idle, (v) => v, 'rssBytesPer', false);
  add('idle connection: server heap per connection', summary.idle, (v) => v, 'heapBytesPer', false);
  for (const connections of [...new Set([...summary.echo.keys()].map((k) => Number(k.split('|')[0])))]) {
    const keyOf = (v) => `${connections}|${v}`;
    add(
      `echo, ${connections} connection${connections === 1 ? '' : 's'}: round-trips/s`,
      summary.echo,
      keyOf,
      'perSecond',
      true,
    );
    add(
      `echo, ${connections} connection${connections === 1 ? '' : 's'}: server CPU per round-trip`,
      summary.echo,
      keyOf,
      'cpuMicrosPer',
      false,
    );
  }
  return rows.filter((row) => Object.values(row.values).some(Number.isFinite));
}

/**
 * The (framework, configuration) columns that have a variant, each ÷ the native choice; with
 * `sameLogging`, also logging on ÷ the native choice with logging (where both variants exist).
 */
function columns(sameLogging = false) {
  return FRAMEWORKS.flatMap((f) =>
    COMPARISONS.filter((c) => sameLogging || c.baseline === 'native')
      .filter(({ role, baseline }) => variantOf(f, role) && variantOf(f, baseline))
      .map((c) => ({ framework: f, key: keyOfComparison(f, c), ...c })),
  );
}

/** The summary table: one row per metric, one column per framework and comparison. */
export function renderHeadline(summary) {
  const cols = columns(true);
  const rows = headlineRatios(summary)
    .map((row) => [
      `${row.metric} (${row.higherIsBetter ? 'higher' : 'lower'} is better)`,
      ...cols.map((c) => showRatio(row.values[c.key], row.higherIsBetter, true)),
    ])
    .filter((cells) => cells.slice(1).some((cell) => cell !== '–'));
  const header = [
    'wsgate ÷ native',
    ...cols.map(
      (c) =>
        `${VARIANTS[variantOf(c.framework, c.role)].label} ÷ ${VARIANTS[variantOf(c.framework, c.baseline)].label}`,
    ),
  ];
  return table(header, rows);
}

/** The detailed tables (Markdown). */
export function renderDetails(summary) {
  const parts = [];
  for (const scenario of Object.keys(HANDSHAKES)) {
    const keyOf = (v) => `${scenario}|${v}`;
    const names = ordered((v) => summary.handshakes.has(keyOf(v)));
    if (names.length === 0) continue;
    const rows = names.map((v) => {
      const m = summary.handshakes.get(keyOf(v));
      const status = Object.keys(m.first.statuses).join(', ');
      return [
        label(v),
        status,
        fmt.int(m.perSecond),
        fmt.ms(m.p50Ms),
        fmt.ms(m.p99Ms),
        fmt.us(m.cpuMicrosPer),
        fmt.mb(m.peakRssBytes),
        fmt.pct(m.spread),
        ...ratioCells(summary.handshakes, keyOf, v, [
          ['perSecond', true],
          ['cpuMicrosPer', false],
        ]),
      ];
    });
    parts.push(
      `### ${HANDSHAKES[scenario].title}\n\n${table(
        [
          'server',
          'status',
          'handshakes/s',
          'p50 ms',
          'p99 ms',
          'server CPU µs/handshake',
          'server peak RSS MB',
          'spread',
          '× native (handshakes/s)',
          '× native (CPU)',
          '× floor (handshakes/s)',
        ],
        rows,
      )}`,
    );
  }
  const idleNames = ordered((v) => summary.idle.has(v));
  if (idleNames.length > 0) {
    const rows = idleNames.map((v) => {
      const m = summary.idle.get(v);
      return [
        label(v),
        fmt.int(m.opened),
        fmt.kb(m.rssBytesPer),
        fmt.kb(m.heapBytesPer),
        ...ratioCells(summary.idle, (x) => x, v, [
          ['rssBytesPer', false],
          ['heapBytesPer', false],
        ]),
      ];
    });
    parts.push(
      `### Open idle connections\n\n${table(
        [
          'server',
          'connections',
          'server RSS KB/connection',
          'heap KB/connection',
          '× native (RSS)',
          '× native (heap)',
          '× floor (RSS)',
        ],
        rows,
      )}`,
    );
  }
  const echoConnections = [...new Set([...summary.echo.keys()].map((k) => Number(k.split('|')[0])))];
  for (const connections of echoConnections) {
    const keyOf = (v) => `${connections}|${v}`;
    const names = ordered((v) => summary.echo.has(keyOf(v)));
    const rows = names.map((v) => {
      const m = summary.echo.get(keyOf(v));
      return [
        label(v),
        fmt.int(m.perSecond),
        fmt.ms(m.p50Ms),
        fmt.ms(m.p99Ms),
        m.cpuMicrosPer.toFixed(1),
        fmt.pct(m.spread),
        ...ratioCells(summary.echo, keyOf, v, [
          ['perSecond', true],
          ['cpuMicrosPer', false],
        ]),
      ];
    });
    parts.push(
      `### Echo round-trips, ${connections} connection${connections === 1 ? '' : 's'}\n\n${table(
        [
          'server',
          'round-trips/s',
          'p50 ms',
          'p99 ms',
          'server CPU µs/round-trip',
          'spread',
          '× native (round-trips/s)',
          '× native (CPU)',
          '× floor (round-trips/s)',
        ],
        rows,
      )}`,
    );
  }
  return parts.join('\n\n');
}

/** core's decide() micro-benchmark rows as a table. */
export function renderCore(core) {
  if (!core) return '_not run_';
  return table(
    ['scenario', 'decisions/s', 'µs/decision'],
    core.rows.map((r) => [r.scenario, r['decisions/s'], r['µs/decision']]),
  );
}

/**
 * The short ratio table for README.md's Performance section: wsgate ÷ native per framework, with
 * logging off and on (pino to a file), the rejection scenarios on one line.
 */
export function renderReadmeRatios(summary) {
  const ratios = new Map(headlineRatios(summary).map((row) => [row.metric, row.values]));
  const cell = (column, ...metrics) =>
    metrics
      .map((metric) => ratios.get(metric)?.[column])
      .map((v) => (Number.isFinite(v) ? v.toFixed(2) : '–'))
      .join(' / ');
  const cols = columns();
  const rejected = Object.keys(HANDSHAKES)
    .filter((s) => s !== 'accepted')
    .map((s) => `${HANDSHAKES[s].title}: server CPU per handshake`);
  const echo = [...new Set([...summary.echo.keys()].map((k) => Number(k.split('|')[0])))];
  const echoMetric = (n) => `echo, ${n} connection${n === 1 ? '' : 's'}: round-trips/s`;
  const rows = [
    ['accepted handshakes/s', [`${HANDSHAKES.accepted.title}: handshakes/s`]],
    ['server CPU per accepted handshake', [`${HANDSHAKES.accepted.title}: server CPU per handshake`]],
    [
      `server CPU per rejection (${Object.keys(HANDSHAKES)
        .filter((s) => s !== 'accepted')
        .map((s) => HANDSHAKES[s].short)
        .join(' / ')})`,
      rejected,
    ],
    [
      'server memory per idle connection (RSS / heap)',
      ['idle connection: server RSS per connection', 'idle connection: server heap per connection'],
    ],
    [`echo round-trips/s (${echo.join(' / ')} connections)`, echo.map(echoMetric)],
  ];
  return table(
    [
      'wsgate ÷ native',
      ...cols.map(
        (c) =>
          `${c.framework[0]?.toUpperCase()}${c.framework.slice(1)}, ${c.title}: ÷ ${VARIANTS[variantOf(c.framework, 'native')].label}`,
      ),
    ],
    rows.map(([name, metrics]) => [name, ...cols.map((c) => cell(c.key, ...metrics))]),
  );
}
