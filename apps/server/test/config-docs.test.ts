import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INTEGER_RULES } from '../src/config-rules.js';

const docs = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

describe('configuration docs', () => {
  it.each(Object.entries(INTEGER_RULES))(
    'documents %s with its default and range',
    (name, rule) => {
      const rows = docs.split('\n').map((line) => line.split('|').map((cell) => cell.trim()));
      const cells = rows.find((row) => row[1] === `\`${name}\``);
      expect(cells, `${name} has a row`).toBeDefined();
      if (!cells) return;
      expect(cells[2]).toBe(String(rule.fallback));
      if (name !== 'POSTERN_PORT') expect(cells[3]).toBe(`${rule.min}–${rule.max}`);
    },
  );
});
