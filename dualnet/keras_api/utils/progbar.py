"""`Progbar`: Keras's progress line, `12/469 ━━━━━━━━━━━━━━━━━━━━ 3s 8ms/step - loss: 0.3`.

verbose=1 rewrites the line in place (carriage return) on a terminal, at most every `interval`
seconds; when stdout is not a terminal (a log file, a pipe) it prints the line once, when the
bar is finalized. verbose=2 prints one summary line at the end; verbose=0 prints nothing."""
import math
import sys
import time

__all__ = ["Progbar"]

_BOLD, _GREEN, _GREY, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


def _format_value(value):
    value = float(value)
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def _format_step_time(seconds, unit_name):
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


def _format_eta(seconds):
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


class Progbar:
    """A progress bar over `target` steps (None when unknown).

    `update(current, values)` takes `values` as (name, value) pairs: names in
    `stateful_metrics` (every name when it is None) are shown as given, the others averaged
    over the steps seen.
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step"):
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stateful_metrics = None if stateful_metrics is None else set(stateful_metrics)
        stream = sys.stdout
        self._dynamic_display = hasattr(stream, "isatty") and stream.isatty()
        self._values = {}
        self._values_order = []
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_total_width = 0

    def _record(self, current, values):
        for name, value in values:
            if name not in self._values:
                self._values_order.append(name)
            if self.stateful_metrics is None or name in self.stateful_metrics:
                self._values[name] = (value, 1)
            else:
                steps = max(current - self._seen_so_far, 1)
                total, count = self._values.get(name, (0.0, 0))
                self._values[name] = (total + float(value) * steps, count + steps)

    def _metrics_text(self):
        parts = []
        for name in self._values_order:
            total, count = self._values[name]
            value = total if count == 1 else total / max(count, 1)
            parts.append(f" - {name}: {_format_value(value)}")
        return "".join(parts)

    def _step_time(self, current, now):
        if current > 1 and self._time_after_first_step is not None:
            return (now - self._time_after_first_step) / (current - 1)
        return (now - self._start) / current if current else 0.0

    def update(self, current, values=None, finalize=None):
        """Move the bar to step `current`, recording `values`; `finalize` (default: current
        reached target) prints the final form of the line."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if values:
            self._record(current, values.items() if isinstance(values, dict) else values)
        now = time.time()
        if current == 1:
            self._time_after_first_step = now
        self._seen_so_far = current
        if self.verbose == 1:
            if not finalize and (not self._dynamic_display
                                 or now - self._last_update < self.interval):
                return
            self._last_update = now
            self._print_bar(current, now, finalize)
        elif self.verbose == 2 and finalize:
            count = self._count_text(current)
            line = (f"{count} - {now - self._start:.0f}s -"
                    f"{_format_step_time(self._step_time(current, now), self.unit_name)}"
                    f"{self._metrics_text()}\n")
            sys.stdout.write(line)
            sys.stdout.flush()

    def add(self, n, values=None):
        self.update(self._seen_so_far + n, values)

    def _count_text(self, current):
        if self.target is None:
            return "%7d/Unknown" % current
        digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
        return f"%{digits}d/%d" % (current, self.target)

    def _print_bar(self, current, now, finalize):
        ansi = self._dynamic_display
        bold, reset = (_BOLD, _RESET) if ansi else ("", "")
        count = self._count_text(current)
        if self.target:
            done = int(self.width * min(current / self.target, 1.0))
            filled, empty = "━" * done, "━" * (self.width - done)
            if ansi:
                filled = f"{_GREEN}{filled}{_RESET}" if done else ""
                empty = f"{_GREY}{empty}{_RESET}"
            bar = f"{bold}{count}{reset} {filled}{empty}"
            plain_bar = f"{count} {'━' * self.width}"
        else:
            bar = plain_bar = count
        if self.target and not finalize:
            when = _format_eta(self._step_time(current, now) * (self.target - current))
        else:
            when = f"{now - self._start:.0f}s"
        info = (f" {bold}{when}{reset}"
                f"{_format_step_time(self._step_time(current, now), self.unit_name)}"
                f"{self._metrics_text()}")
        plain_width = len(plain_bar) + len(info) - (len(bold) + len(reset))
        message = ""
        if ansi:
            message = "\b" * self._prev_total_width + "\r"
        message += bar + info
        if ansi and self._prev_total_width > plain_width:
            message += " " * (self._prev_total_width - plain_width)
        if finalize:
            message += "\n"
        self._prev_total_width = plain_width
        sys.stdout.write(message)
        sys.stdout.flush()
