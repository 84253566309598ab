/** The dashboard's stylesheet: one column on a phone, a grid of cards on wider screens. */
export const dashboardCss = `
:root { --bg:#f4f5f7; --card:#fff; --fg:#1c1e21; --muted:#667; --line:#e2e4e8; --good:#137333; --bad:#b3261e; --warn:#a15c00; --accent:#1a56db; color-scheme: light; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; background:var(--bg); color:var(--fg); font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; }
h1 { font-size:1.15rem; margin:0; }
h2 { font-size:.95rem; margin:0 0 .6rem; color:#333; }
button { font:inherit; padding:.35rem .8rem; border:1px solid var(--line); border-radius:6px; background:#fff; cursor:pointer; min-height:2rem; }
button:disabled { opacity:.45; cursor:default; }
button.danger { background:var(--bad); border-color:var(--bad); color:#fff; }
button.quiet { background:transparent; }
button.more { margin-top:.4rem; background:transparent; }
button.link { border:0; background:none; color:var(--accent); padding:0 .2rem; min-height:0; text-decoration:underline; }
input { font:inherit; padding:.35rem .5rem; border:1px solid var(--line); border-radius:6px; min-width:0; flex:1; min-height:2rem; }
.top { display:flex; flex-wrap:wrap; align-items:center; gap:.5rem; padding:.6rem .8rem; background:var(--card); border-bottom:1px solid var(--line); position:sticky; top:0; z-index:5; }
.grow { flex:1; }
.badge { display:inline-block; padding:.05rem .45rem; border-radius:999px; font-size:.8rem; background:#e8eaed; }
.badge[data-state=live], .badge[data-state=ACTIVE], .badge[data-state=running] { background:#e6f4ea; color:var(--good); }
.badge[data-state=REDUCING], .badge[data-state=degraded], .badge[data-state=connecting], .badge[data-state=starting] { background:#fef3e0; color:var(--warn); }
.badge[data-state=HALTED], .badge[data-state=offline], .badge[data-state=faulted], .badge[data-state=stopped] { background:#fce8e6; color:var(--bad); }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(min(100%, 24rem), 1fr)); gap:.8rem; padding:.8rem; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:.8rem; min-width:0; overflow-x:auto; }
form.card { margin:.8rem; }
.wide { grid-column:1 / -1; }
.row { display:flex; gap:.5rem; align-items:center; flex-wrap:wrap; }
.row.end { justify-content:flex-end; }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:.25rem .4rem; border-bottom:1px solid var(--line); white-space:nowrap; }
th { font-weight:600; color:var(--muted); font-size:.8rem; }
.n { text-align:right; }
td.headline { white-space:normal; min-width:12rem; color:#333; }
.pos { color:var(--good); } .neg { color:var(--bad); }
.empty, .muted { color:var(--muted); margin:.4rem 0 0; }
.error { color:var(--bad); margin:.3rem 0 0; min-height:1em; }
.notice { margin:0; padding:0 .8rem; min-height:0; }
.stats { display:flex; flex-wrap:wrap; gap:.4rem 1.4rem; margin:0 0 .6rem; }
.stats dt { font-size:.75rem; color:var(--muted); }
.stats dd { margin:0; font-weight:600; font-variant-numeric:tabular-nums; }
.chart { width:100%; min-height:60px; }
.lines { display:flex; flex-wrap:wrap; gap:.2rem 1rem; margin:.3rem 0 0; font-size:.8rem; font-variant-numeric:tabular-nums; }
.lines .swatch { display:inline-block; width:.9rem; height:.2rem; margin-right:.35rem; vertical-align:middle; border-radius:1px; }
.list { list-style:none; margin:0; padding:0; }
.list > li { padding:.4rem 0; border-bottom:1px solid var(--line); }
.list .row { gap:.2rem .6rem; }
.list .reasons { margin:.2rem 0 0 1rem; padding:0; color:#333; }
.list .ind { color:var(--muted); font-size:.8rem; word-break:break-word; }
.timeline { list-style:none; margin:.4rem 0 0; padding:0 0 0 1rem; border-left:2px solid var(--line); }
.timeline li { position:relative; padding:.25rem 0 .5rem .6rem; }
.timeline li::before { content:""; position:absolute; left:-1.42rem; top:.6rem; width:.7rem; height:.7rem; border-radius:50%; background:var(--accent); }
.timeline .type { font-weight:600; }
.timeline .meta { color:var(--muted); font-size:.8rem; }
.timeline .what { word-break:break-word; }
.chat { max-height:22rem; overflow-y:auto; display:flex; flex-direction:column; gap:.4rem; margin-bottom:.5rem; }
.msg { padding:.4rem .6rem; border-radius:8px; white-space:pre-wrap; word-break:break-word; max-width:100%; }
.msg.me { align-self:flex-end; background:#e8f0fe; }
.msg.bot { align-self:flex-start; background:#f1f3f4; font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:.8rem; }
.msg.bot.failed { background:#fce8e6; }
.pre { white-space:pre-wrap; word-break:break-word; }
dialog { border:1px solid var(--line); border-radius:10px; max-width:min(28rem, 92vw); padding:1rem; }
dialog::backdrop { background:rgba(0,0,0,.35); }
@media (max-width:480px) { .grid { padding:.5rem; gap:.5rem; } .top { padding:.5rem; } th, td { padding:.2rem .3rem; } }
`;
