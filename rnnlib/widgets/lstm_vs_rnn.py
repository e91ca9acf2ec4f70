"""The LSTM explorer (chapter 8): how far back the gradient reaches, RNN against LSTM."""

from __future__ import annotations

import numpy as np

from .. import lstm, plots
from .base import C, Explorer
from .controls import Slider


class LstmVsRnn(Explorer):
    """The same recall task for a simple RNN and an LSTM: how far back the gradient reaches."""

    name, main = "lstm_vs_rnn", "lag"
    mosaic = [["norms", "gates"]]
    gridspec = {"width_ratios": [1.4, 1]}
    figsize = (7.6, 4.2)
    H = 8
    N_MAX = 61  # lag 60: the value at step 1, the recall at step 61
    YLIM = (1e-20, 1e2)  # fixed; beyond it (forget bias < 0, long lags): off-scale markers
    grid = {
        "lag": (2, 5, 10, 15, 20, 30, 40, 50, 60),
        "forget_bias": (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 5.0),
    }

    def _specs(self):
        return {
            # opens on the chapter's case: b_f = 3 keeps the cell signal over fifty steps
            "lag": Slider("lag", 50, 2, 60, 1, kind="int"),
            "forget_bias": Slider("forget bias", 3.0, -2.0, 5.0, 0.5, fmt=".1f"),
            "seed": Slider("seed", 0, 0, 9, 1, kind="int"),
        }

    def _build(self):
        ax, gx = self.ax["norms"], self.ax["gates"]
        plots.log_axis(ax)
        self.unused = plots.unused_span(ax)
        self.off = plots.offscale(ax)
        self.l_rnn = ax.plot(
            [],
            [],
            "-",
            color=C["vermillion"],
            lw=1.8,
            label=r"RNN $\|dE_N/dS_i\|$",
        )[0]
        self.l_h = ax.plot([], [], "-", color=C["blue"], lw=1.8, label=r"LSTM $\|dE_N/dS_i\|$")[0]
        self.l_c = ax.plot(
            [],
            [],
            "--",
            color=C["green"],
            lw=1.8,
            label=r"LSTM cell $\|dE_N/dC_i\|$",
        )[0]
        ax.set_xlabel("$i$ (the step the gradient reaches back to)")
        ax.set_ylabel("gradient norm (log scale)")
        plots.fixed_log_limits(ax, *self.YLIM)
        for a in (ax, gx):
            a.set_xlim(0.5, self.N_MAX + 0.5)
        # legends above the axes, where they cover no data
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=9, frameon=False)
        self.semi.append(self.unused)
        self.info = plots.status_text(ax, loc=(0.02, 0.03), va="bottom")
        self.boom = plots.exploded_text(ax)
        self.l_units = [
            gx.plot([], [], color=C["sky"], lw=0.6, alpha=0.6)[0] for _ in range(self.H)
        ]
        self.l_gates = {
            "F": gx.plot([], [], color=C["blue"], lw=2, label="forget $f_t$")[0],
            "I": gx.plot([], [], color=C["orange"], lw=2, label="input $i_t$")[0],
            "O": gx.plot([], [], color=C["purple"], lw=2, label="output $o_t$")[0],
        }
        gx.set_ylim(-0.02, 1.02)
        gx.set_xlabel("$t$")
        gx.set_ylabel("gate value (mean over units)")
        gx.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=9, frameon=False, ncol=2)
        return (
            *self.off,
            self.l_rnn,
            self.l_h,
            self.l_c,
            self.info,
            self.boom,
            *self.l_units,
            *self.l_gates.values(),
        )

    def _semi_key(self, v):
        return v["lag"]

    def _draw(self, lag, forget_bias, seed):
        r = lstm.recall_profile(lag, forget_bias, seed, self.H)
        N = lag + 1
        i = np.arange(1, N + 1)
        norms = {"rnn": r.rnn_norm, "h": r.lstm_norm, "c": r.cell_norm}
        for line, y in zip((self.l_rnn, self.l_h, self.l_c), norms.values(), strict=True):
            plots.set_line(line, i, y, log=True)
        plots.set_unused(self.unused, N + 0.5)
        plots.set_offscale(self.off, self.ax["norms"], *((i, y) for y in norms.values()))
        self.info.set_text(
            f"step 1 gets, of the step-N size:\nRNN {r.rnn_reach:.1e}, LSTM cell {r.cell_reach:.1e}"
        )
        for u, line in enumerate(self.l_units):
            line.set_data(i, r.F[:, u])
        for k, line in self.l_gates.items():
            line.set_data(i, getattr(r, k).mean(axis=-1))
        self._explode(self.boom, not r.finite)
        self.state = {**norms, "F": r.F, "I": r.I, "O": r.O}
        self._profile = r

    def _describe(self, lag, forget_bias, seed):
        r = self._profile
        back = {"rnn": r.rnn_reach, "c": r.cell_reach}
        f = r.F.mean()
        return (
            "Log-scale gradient norms ||dE_N/dS_i|| and, for the LSTM cell, ||dE_N/dC_i||, "
            f"against i on a recall task with lag {lag} (N = {lag + 1}): "
            f"the signal reaching step 1 is {back['rnn']:.1e} of its step-N size for the simple "
            f"RNN and {back['c']:.1e} for the LSTM cell with forget-gate bias {forget_bias:.1f}. "
            f"Beside it, the LSTM gates along the sequence; the forget gate averages {f:.2f}."
        )
