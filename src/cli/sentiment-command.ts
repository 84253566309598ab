import { parseArgs } from 'node:util';
import { classify } from '../../agents/sentiment/index.js';

const HELP = `Usage: sextant sentiment <eval|score> [options]

  eval --data <csv> [--json]
                 Score every row of a labelled CSV (header text,label; 0 bearish, 1 bullish,
                 2 neutral; RFC 4180 quoting) with the default scorer and print accuracy and
                 macro-F1 over the three classes. A row is classified by the rule its score
                 carries: bullish above the scorer's neutral band, bearish below minus it,
                 neutral within. --json prints {"accuracy","macroF1","n"}.
  score <text> [--json]
                 Score one text: score in [-1, 1], confidence, class and the words that moved
                 it. --json prints {"score","confidence","class","rationale","scorer"}.

The default scorer is finance-aware, offline and deterministic (agents/sentiment/scoring/).`;

const OPTIONS = {
  data: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** `sextant sentiment eval|score`: resolves to the exit code (1 for bad data, 2 for bad usage). */
export async function sentimentCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    console.error(`sextant sentiment: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub, ...words] = positionals;
  if (values.help || sub === undefined || sub === 'help') {
    console.log(HELP);
    return values.help || sub === 'help' ? 0 : 2;
  }
  // the model (a few hundred KB of JSON) loads only for this command, not for every CLI start
  const scoring = await import('../../agents/sentiment/scoring/index.js');
  if (sub === 'eval') {
    if (!values.data || words.length > 0) {
      console.error(`sextant sentiment eval: needs --data <csv> and nothing else\n\n${HELP}`);
      return 2;
    }
    let rows;
    try {
      rows = scoring.readLabelledCsv(values.data);
    } catch (err) {
      if (err instanceof scoring.SentimentDataError) {
        console.error(`sextant sentiment eval: ${err.message}`);
        return 1;
      }
      throw err;
    }
    const scorer = scoring.createDefaultScorer();
    const e = scoring.evaluateScorer(scorer, rows);
    if (values.json) {
      console.log(JSON.stringify({ accuracy: e.accuracy, macroF1: e.macroF1, n: e.n }));
      return 0;
    }
    const pct = (x: number) => x.toFixed(4);
    console.log(`${scorer.name} on ${values.data} (neutral band ±${scorer.neutralBand}):`);
    console.log(`  n ${e.n}, accuracy ${pct(e.accuracy)}, macro-F1 ${pct(e.macroF1)}`);
    for (const label of scoring.LABELS) {
      const c = e.perClass[label];
      console.log(
        `  ${label.padEnd(8)} precision ${pct(c.precision)}  recall ${pct(c.recall)}  F1 ${pct(c.f1)}  (${c.support} rows)`,
      );
    }
    return 0;
  }
  if (sub === 'score') {
    const text = words.join(' ');
    if (text.trim() === '') {
      console.error(`sextant sentiment score: give the text to score\n\n${HELP}`);
      return 2;
    }
    const scorer = scoring.createDefaultScorer();
    const s = scorer.score(text);
    const label = classify(s.score, scorer.neutralBand);
    if (values.json) {
      console.log(
        JSON.stringify({
          score: s.score,
          confidence: s.confidence,
          class: label,
          rationale: s.rationale,
          scorer: s.scorer,
        }),
      );
      return 0;
    }
    console.log(
      `${label}: score ${s.score.toFixed(3)}, confidence ${s.confidence.toFixed(3)} (${s.scorer}, neutral within ±${scorer.neutralBand})`,
    );
    console.log(s.rationale);
    return 0;
  }
  console.error(`sextant sentiment: unknown subcommand "${sub}"\n\n${HELP}`);
  return 2;
}
