/**
 * The finance word lists the features draw on. Each list holds lower-case tokens as
 * `tokenize` writes them. The lists are priors, not the model: a match adds a shared
 * cue feature (`LEX+`, `LEX-`, `FIN+`, `FIN-`) whose weight is learned with the rest, so a
 * rare word on a list still moves the score, while the model decides how much.
 */

/** Words that move a security's outlook up, unambiguous in headlines. */
export const POSITIVE: ReadonlySet<string> = new Set(
  `beat beats beating tops topped surpass surpasses surpassed exceed exceeds exceeded outpace outpaces
  upgrade upgrades upgraded upgrading outperform outperforms outperformed outperforming overweight
  soar soars soared soaring surge surges surged surging jump jumps jumped jumping rally rallies rallied rallying
  gain gains gained gaining rise rises rising rose climb climbs climbed climbing rebound rebounds rebounded
  recover recovers recovered recovery boost boosts boosted bullish bull bulls strong stronger strength
  record higher highs upside optimism optimistic upbeat positive profit profits profitable growth
  improve improves improved improving advance advances advanced win wins won winning success successful
  breakthrough approval approves approved accelerate accelerates accelerating best buyback buybacks
  skyrocket skyrockets skyrocketed rocket rockets spike spikes spiked pop pops popped thrive thrives thriving
  expand expands expanded expansion comeback outperformance tailwind tailwinds robust solid momentum
  rallying rallied upgrades beats raises lifting lifted`
    .split(/\s+/)
    .filter(Boolean),
);

/** Words that move a security's outlook down, unambiguous in headlines. */
export const NEGATIVE: ReadonlySet<string> = new Set(
  `miss misses missed downgrade downgrades downgraded downgrading underperform underperforms underweight
  cut cuts cutting slash slashes slashed plunge plunges plunged plunging tumble tumbles tumbled tumbling
  fall falls fell falling drop drops dropped dropping slide slides slid sliding sink sinks sank sinking
  slump slumps slumped decline declines declined declining loss losses lose loses lost losing weak weaker
  weakness bearish bear bears warn warns warned warning warnings concern concerns worry worries worried
  fear fears lawsuit sues sued probe fraud bankrupt bankruptcy default defaults layoffs layoff recall recalls
  halt halts halted suspend suspends suspended crash crashes crashed collapse collapses collapsed plummet
  plummets plummeted selloff downside negative pessimism pessimistic disappoint disappoints disappointing
  disappointed slowdown recession shortfall delay delays delayed fined penalty worst lows tariff tariffs
  threat threatens crisis slowing slows slowed slip slips slipped sag sags sagged retreat retreats retreated
  tank tanks tanked dive dives dived downbeat headwinds headwind dip dips dipped hurt hurts struggle struggles
  struggling downturn problems pressure pressures glut slowdown uncertainty uncertainties shutdown shutdowns
  closures layoff stolen breach hack investigation scandal resign resigns resigned bankrupt turmoil volatile
  sell-off wipe wipes wiping`
    .split(/\s+/)
    .filter(Boolean),
);

/** Words that make the next cue count double ("sharply lower"). */
export const INTENSIFIERS: ReadonlySet<string> = new Set(
  `very sharply sharp strongly significantly substantially massive massively huge hugely big biggest deeply
  steep steeply highly extremely dramatically heavily further`
    .split(/\s+/)
    .filter(Boolean),
);

/** Words that open a negation scope over the next few tokens ("not a good quarter"). */
export const NEGATORS: ReadonlySet<string> = new Set([
  'not',
  'no',
  'never',
  'without',
  'nor',
  'neither',
  'cannot',
  'hardly',
  'unable',
]);

/** Verbs that negate what follows "to" ("fails to beat"). */
export const FAILS: ReadonlySet<string> = new Set(['fail', 'fails', 'failed', 'failing']);

/**
 * Directional verbs that, with a finance object within a few tokens, make a strong cue:
 * "raises guidance", "cuts price target", "beats estimates", "lowers outlook". Alone many
 * are ambiguous ("raises $50M" is financing), so they count only with an object.
 */
export const UP_VERBS: ReadonlySet<string> = new Set(
  `raise raises raised raising lift lifts lifted lifting hike hikes hiked boost boosts boosted increase increases increased
  ups upped beat beats tops topped exceed exceeds exceeded surpass surpasses surpassed reaffirm reaffirms reaffirmed`
    .split(/\s+/)
    .filter(Boolean),
);

export const DOWN_VERBS: ReadonlySet<string> = new Set(
  `cut cuts cutting lower lowers lowered slash slashes slashed reduce reduces reduced trim trims trimmed
  miss misses missed withdraw withdraws withdrew suspend suspends suspended`
    .split(/\s+/)
    .filter(Boolean),
);

export const FINANCE_OBJECTS: ReadonlySet<string> = new Set(
  `guidance outlook forecast forecasts target targets pt estimate estimates expectations consensus views
  view dividend dividends payout rating eps revenue`
    .split(/\s+/)
    .filter(Boolean),
);
