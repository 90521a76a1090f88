import { describe, expect, it } from 'vitest';
import { escapeXml, formatNumber, linePlot, linearTicks, logTicks } from './svg-plot.js';

/** A strict enough well-formedness check for what linePlot writes (no
 * browser or XML parser is installed here): every tag closes in order,
 * attributes are name="value" with no raw < or &, text has no raw < or &. */
function xmlProblems(text: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(text)) !== null) {
    const [, close, name, attrs, selfClose, chars, stray] = m;
    if (stray) problems.push(`stray < at ${m.index}`);
    else if (chars !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(chars)) problems.push(`raw & in text at ${m.index}`);
    } else if (close) {
      if (stack.pop() !== name) problems.push(`</${name}> closes the wrong element at ${m.index}`);
    } else {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(attrs ?? '')) problems.push(`raw & in attribute at ${m.index}`);
      if (!selfClose) stack.push(name!);
    }
    if (m.index === 0 && name !== 'svg') problems.push('the root is not <svg>');
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  return problems;
}

describe('linePlot', () => {
  const spec = {
    title: 'p99 <vs> payload & "size"',
    xLabel: 'bytes',
    yLabel: 'ms',
    xLog: true,
    series: [
      { name: 'ferry-ebpf', points: [[64, 1.2], [65536, 1.5], [1048576, 2]] as [number, number][] },
      { name: 'http & co', points: [[64, 2], [65536, 5], [1048576, 40]] as [number, number][] },
    ],
  };

  it('writes well-formed SVG with every series in the legend and one point per value', () => {
    const svg = linePlot(spec);
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('p99 &lt;vs&gt; payload &amp; &quot;size&quot;');
    expect(svg).toContain('http &amp; co');
    expect(svg.match(/<circle /g)?.length).toBe(6);
    expect(svg.match(/<polyline /g)?.length).toBe(2);
  });

  it('the checker itself rejects broken markup (so the test above can fail)', () => {
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg x="1<2"></svg>')).not.toEqual([]);
  });

  it('drops points a log axis cannot show and survives empty series', () => {
    const svg = linePlot({ ...spec, series: [{ name: 'a', points: [[0, 1], [NaN, 2], [10, 3]] }, { name: 'empty', points: [] }] });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.match(/<circle /g)?.length).toBe(1);
    expect(svg).not.toContain('NaN');
  });
});

describe('ticks and labels', () => {
  it('linear ticks are round steps covering the range', () => {
    expect(linearTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(linearTicks(0, 0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
  });
  it('log ticks are decades, or powers of two over a short range', () => {
    expect(logTicks(1, 1000)).toEqual([1, 10, 100, 1000]);
    expect(logTicks(64, 1048576)).toEqual([100, 1000, 10000, 100000, 1000000]);
    expect(logTicks(1, 16)).toEqual([1, 2, 4, 8, 16]);
  });
  it('numbers and text', () => {
    expect([formatNumber(1200), formatNumber(2500000), formatNumber(0.25)]).toEqual(['1.2k', '2.5M', '0.25']);
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});
