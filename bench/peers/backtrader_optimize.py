"""The optimize bench's peer: the SMA cross grid through backtrader's optstrategy (maxcpus).

Same rules as backtrader_sma_cross.py (imported from it): a market buy of SIZE at a cross up while
flat, a market sell of the whole position at a cross down while long, filled at the next bar's
open; no fees; cash 100,000. optreturn=False keeps each strategy so its final broker value can be
read.

Usage: python backtrader_optimize.py FILE FASTS SLOWS [MAXCPUS [SIZE [CASH]]]
  FASTS, SLOWS: comma-separated lists, e.g. 5,10,15,20 30,40,50,60
Prints one JSON line: elapsedMs (from creating Cerebro to the last result), and results
[{fast, slow, finalValue}] in grid order.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backtrader as bt  # noqa: E402

from backtrader_sma_cross import SmaCross  # noqa: E402


def main(argv):
    file = argv[1]
    fasts = [int(x) for x in argv[2].split(',')]
    slows = [int(x) for x in argv[3].split(',')]
    maxcpus = int(argv[4]) if len(argv) >= 5 else 2
    size = int(argv[5]) if len(argv) >= 6 else 100
    cash = float(argv[6]) if len(argv) >= 7 else 100_000.0
    started = time.perf_counter()
    cerebro = bt.Cerebro(stdstats=False, maxcpus=maxcpus, optreturn=False)
    data = bt.feeds.GenericCSVData(dataname=file, dtformat='%Y-%m-%d', datetime=0, open=1, high=2, low=3, close=4, volume=6, openinterest=-1, headers=True)
    cerebro.adddata(data)
    cerebro.optstrategy(SmaCross, fast=fasts, slow=slows, size=size)
    cerebro.broker.setcash(cash)
    runs = cerebro.run()
    elapsed = time.perf_counter() - started
    results = [{'fast': r[0].p.fast, 'slow': r[0].p.slow, 'finalValue': round(r[0].broker.getvalue(), 2)} for r in runs]
    results.sort(key=lambda r: (r['fast'], r['slow']))
    print(json.dumps({'elapsedMs': round(elapsed * 1000), 'results': results}))


if __name__ == '__main__':
    main(sys.argv)
