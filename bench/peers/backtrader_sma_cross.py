"""The backtest bench's peer: the same SMA(10,30) cross through backtrader, on the same CSV.

Rules as Sextant's reference backtest (tests/fixtures/data/README.md): a market buy of SIZE at a
cross up while flat, a market sell of the whole position at a cross down while long; a market
order decided on bar t fills at the open of bar t+1 (backtrader's default); no fees; cash
100,000 unless given (backtrader refuses an order the cash does not cover). "Cross" follows the reference: the last non-zero fast-slow difference changed sign.

Usage: python backtrader_sma_cross.py FILE [FAST SLOW SIZE [CASH]]
Prints one JSON line: bars, fills, finalValue, elapsedMs, barsPerSecond, peakRssMB.
"""
import json
import resource
import sys
import time

import backtrader as bt


class SmaCross(bt.Strategy):
    params = dict(fast=10, slow=30, size=100)

    def __init__(self):
        self.fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        self.slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
        self.last_sign = 0
        self.fills = 0

    def notify_order(self, order):
        if order.status == order.Completed:
            self.fills += 1

    def next(self):
        diff = self.fast[0] - self.slow[0]
        sign = (diff > 0) - (diff < 0)
        if sign == 0:
            return
        previous, self.last_sign = self.last_sign, sign
        if previous < 0 < sign and not self.position:
            self.buy(size=self.p.size)
        elif previous > 0 > sign and self.position:
            self.close()


def main(argv):
    file = argv[1]
    fast, slow, size = (int(a) for a in argv[2:5]) if len(argv) >= 5 else (10, 30, 100)
    cash = float(argv[5]) if len(argv) >= 6 else 100_000.0
    started = time.perf_counter()
    cerebro = bt.Cerebro(stdstats=False)
    # the Yahoo layout: Date,Open,High,Low,Close,Adj Close,Volume (raw Open/Close, not adjusted)
    data = bt.feeds.GenericCSVData(dataname=file, dtformat='%Y-%m-%d', datetime=0, open=1, high=2, low=3, close=4, volume=6, openinterest=-1, headers=True)
    cerebro.adddata(data)
    cerebro.addstrategy(SmaCross, fast=fast, slow=slow, size=size)
    cerebro.broker.setcash(cash)
    strategy = cerebro.run()[0]
    elapsed = time.perf_counter() - started
    bars = len(data)
    print(json.dumps({
        'bars': bars,
        'fills': strategy.fills,
        'finalValue': round(cerebro.broker.getvalue(), 2),
        'elapsedMs': round(elapsed * 1000),
        'barsPerSecond': round(bars / elapsed),
        'peakRssMB': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == '__main__':
    main(sys.argv)
