/** Renders a report: a readable text for people, one JSON object for machines. Pure: returns strings. */
import type { Report, StageResult } from './report.js';
import type { CertificateSummary } from './stages/tls.js';

/** The `--json` output: one object, one line. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report)}\n`;
}

const MARKS: Readonly<Record<StageResult['status'], string>> = {
  passed: '✓',
  failed: '✗',
  skipped: '-',
  'not reached': '·',
};

/** The readable report. */
export function renderText(report: Report): string {
  const lines = [`wsgate-doctor ${report.url}`, ''];
  for (const stage of report.stages) {
    const head = `  ${MARKS[stage.status]} ${stage.name.padEnd(10)}`;
    if (stage.status === 'failed') {
      lines.push(`${head} ${stage.cause}`);
      lines.push(...indent(stage.detail ?? ''));
      lines.push(...indent(`fix: ${stage.fix ?? ''}`));
      lines.push(...details(stage));
    } else if (stage.status === 'passed') {
      lines.push(`${head} ${summary(stage)}`);
    } else {
      lines.push(`${head} ${stage.status === 'skipped' ? (stage.detail ?? 'skipped') : 'not reached'}`);
    }
  }
  lines.push('');
  lines.push(
    report.ok
      ? 'OK: every stage passed.'
      : `FAILED at ${report.stage}: ${report.cause} (exit code ${report.exitCode}). See docs/recipes/doctor.md.`,
  );
  return `${lines.join('\n')}\n`;
}

function indent(text: string): string[] {
  return text.split('\n').map((line) => `               ${line}`);
}

function summary(stage: StageResult): string {
  const e = (stage.evidence ?? {}) as Record<string, unknown>;
  switch (stage.name) {
    case 'url':
      return `${e.scheme}://${e.host}:${e.port}${e.path}`;
    case 'dns':
      return (e.addresses as string[] | undefined)?.join(', ') ?? '';
    case 'tcp':
      return ((e.attempts as Array<{ address: string; result: string }> | undefined) ?? [])
        .map((a) => `${a.address}: ${a.result}`)
        .join('; ');
    case 'tls': {
      const chain = (e.chain as CertificateSummary[] | undefined) ?? [];
      const ignored = e.ignored as { cause: string } | undefined;
      return `${e.protocol}, ${e.cipher}, ALPN ${e.alpn ?? 'none'}, ${chain.length} certificate(s)${ignored ? `; ignored with --insecure: ${ignored.cause}` : ''}`;
    }
    case 'http':
      return `101 in ${e.ms} ms`;
    case 'handshake':
      return `accept ok${e.protocol ? `, protocol ${e.protocol}` : ''}${e.extensions ? `, ${e.extensions}` : ''}`;
    case 'open':
      return `ping ${e.pingMs} ms${e.idleSeconds !== undefined ? `, idle ${e.idleSeconds} s survived` : ''}${(e.messages as string[] | undefined)?.length ? `, ${(e.messages as string[]).length} message(s) back` : ''}`;
  }
}

function details(stage: StageResult): string[] {
  const e = (stage.evidence ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  const chain = e.chain as CertificateSummary[] | undefined;
  if (chain) {
    out.push(...indent('chain as Node built it from what the server sent (leaf first):'));
    chain.forEach((cert, i) => {
      out.push(
        ...indent(
          `  ${i} ${cert.subject} — issued by ${cert.issuer}${cert.selfSigned ? ' (self-signed)' : ''}`,
        ),
      );
      out.push(
        ...indent(
          `    valid ${cert.validFrom} → ${cert.validTo}${cert.subjectAltName ? `; ${cert.subjectAltName}` : ''}`,
        ),
      );
    });
  }
  if (typeof e.status === 'number') out.push(...indent(`status: ${e.status} ${e.reason ?? ''}`.trimEnd()));
  for (const line of ((e.headers as string[] | undefined) ?? []).slice(0, 20))
    out.push(...indent(`  ${line}`));
  if (typeof e.body === 'string' && e.body !== '')
    out.push(...indent(`body: ${e.body.slice(0, 300).replaceAll('\n', ' ')}`));
  for (const probe of (e.probes as Array<{ probe: string; outcome: string }> | undefined) ?? []) {
    out.push(...indent(`probe ${probe.probe}: ${probe.outcome}`));
  }
  return out;
}
