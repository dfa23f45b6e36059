"""`model.summary()`: Keras 3's table (layer name and type, output shape, parameter count, and
for branching functional models the inbound connections) drawn with the same box characters and
column widths Keras's rich table gets, then the total / trainable / non-trainable counts with
their sizes in bytes."""
import shutil

import numpy as np

__all__ = ["print_summary"]

_UNITS = ["B", "KB", "MB", "GB", "TB", "PB"]


def readable_size(size):
    for unit in _UNITS:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} {_UNITS[-1]}"


def _weights_size(weights):
    unique = {id(w): w for w in weights}.values()
    count = sum(int(np.prod(w.shape, dtype=np.int64)) for w in unique)
    size = sum(int(np.prod(w.shape, dtype=np.int64)) * w.element_size() for w in unique)
    return count, size


def _shape_text(layer):
    if layer._inbound_nodes:
        outputs = layer._inbound_nodes[-1].outputs
        shapes = [_format_shape(t.shape) for t in outputs]
        return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"
    if layer._build_shapes:
        try:
            out = layer.compute_output_shape(**layer._build_shapes)
        except Exception:  # a layer whose shape rule fails on these shapes shows "?"
            return "?"
        if isinstance(out, tuple) and all(d is None or isinstance(d, int) for d in out):
            return _format_shape(out)
        return str(out).replace("'", "")
    return "?"


def _format_shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _is_sequential_like(model):
    from .functional import Functional
    if not isinstance(model, Functional):
        return True
    nodes = []
    for group in model._nodes_by_depth.values():
        if len(group) > 1 or (len(group) == 1 and len(group[0].input_tensors) > 1):
            return False
        nodes += group
    ids = {id(n) for n in nodes}
    for layer in model.layers:
        if sum(id(n) in ids for n in layer._inbound_nodes) > 1:
            return False
    return True


def _connections(model, layer):
    ids = {id(n) for group in model._nodes_by_depth.values() for n in group}
    parts = []
    for node in layer._inbound_nodes:
        if id(node) not in ids:
            continue
        for tensor in node.input_tensors:
            source, node_index, tensor_index = tensor._keras_history
            parts.append(f"{source.name}[{node_index}][{tensor_index}]")
    return ", ".join(parts) or "-"


def _wrap(text, width):
    """Word-wrap one cell's text to `width` columns, as rich does: a word too long for the
    column gets a line of its own, cut short with an ellipsis."""
    lines = []
    for paragraph in text.split("\n"):
        line, start = "", len(lines)
        for word in paragraph.split(" "):
            if len(word) > width:
                if line:
                    lines.append(line)
                    line = ""
                lines.append(word[:width - 1] + "…")
                continue
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= width:
                line += " " + word
            else:
                lines.append(line)
                line = word
        if line or len(lines) == start:
            lines.append(line)
    return lines


def _ratio_reduce(total, maximums, values):
    """Take `total` columns off `values` spread evenly (rich's ratio_reduce, Python rounding)."""
    ratios = [1 if m else 0 for m in maximums]
    total_ratio = sum(ratios)
    result = []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            taken = min(maximum, round(ratio * total / total_ratio))
            result.append(value - taken)
            total -= taken
            total_ratio -= ratio
        else:
            result.append(value)
    return result


def _column_widths(line_length, positions, count):
    requested, current = [], 0
    for position in positions:
        width = int(position * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        requested.append(width)
        current += width
    padded = [w + 2 for w in requested]  # one space of padding each side
    room = line_length - (count + 1)  # the vertical borders
    if sum(padded) > room:
        padded = _ratio_reduce(sum(padded) - room, padded, padded)
    return [w - 2 for w in padded]


def _render_table(header, rows, widths, alignment):
    def cell_lines(text, width, align):
        lines = _wrap(text, width)
        if align == "right":
            return [line.rjust(width) for line in lines]
        if align == "center":
            return [" " * ((width - len(line)) // 2) + line
                    + " " * (width - len(line) - (width - len(line)) // 2) for line in lines]
        return [line.ljust(width) for line in lines]

    def row_lines(cells, bar):
        blocks = [cell_lines(c, w, a) for c, w, a in zip(cells, widths, alignment)]
        height = max(len(b) for b in blocks)
        out = []
        for i in range(height):
            parts = [b[i] if i < len(b) else " " * w for b, w in zip(blocks, widths)]
            out.append(bar + bar.join(f" {p} " for p in parts) + bar)
        return out

    def rule(left, fill, middle, right):
        return left + middle.join(fill * (w + 2) for w in widths) + right

    lines = [rule("┏", "━", "┳", "┓")]
    lines += row_lines(header, "┃")
    lines.append(rule("┡", "━", "╇", "┩"))
    for index, row in enumerate(rows):
        if index:
            lines.append(rule("├", "─", "┼", "┤"))
        lines += row_lines(row, "│")
    lines.append(rule("└", "─", "┴", "┘"))
    return lines


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Print (or hand to `print_fn`, as one string) the summary table of `model`."""
    sequential_like = _is_sequential_like(model)
    # a functional model lists its operation nodes too (KerasTensor arithmetic), as Keras does
    layers = list(getattr(model, "operations", None) or model.layers) if hasattr(
        model, "_operations") else model.layers
    if sequential_like:
        default_length, positions = 88, positions or [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
        alignment = ["left", "left", "right"]
    else:
        default_length, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        alignment = ["left", "left", "right", "left"]
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        alignment.append("center")
    default_length = min(default_length, shutil.get_terminal_size().columns - 4)
    line_length = line_length or default_length
    widths = _column_widths(line_length, positions, len(header))

    def fields(layer, prefix=""):
        if not layer.built:
            params = "0 (unbuilt)"
        else:
            params = f"{layer.count_params():,}"
        row = [f"{prefix}{layer.name} ({type(layer).__name__})", _shape_text(layer), params]
        if not sequential_like:
            row.append(_connections(model, layer))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        return row

    def rows_of(layer, level=0):
        prefix = "   " * level + "└ " if level else ""
        rows = [fields(layer, prefix)]
        if expand_nested and getattr(layer, "layers", None):
            for inner in layer.layers:
                rows += rows_of(inner, level + 1)
        return rows

    if layer_range is not None:
        names = [layer.name for layer in layers]
        start, end = layer_range
        matches = [i for i, n in enumerate(names) if start in n], \
                  [i for i, n in enumerate(names) if end in n]
        if not matches[0] or not matches[1]:
            raise ValueError(f"layer_range {layer_range} names no layers of {names}")
        layers = layers[matches[0][0]:matches[1][0] + 1]
    rows = []
    for layer in layers:
        rows += rows_of(layer)

    trainable_count, trainable_size = _weights_size(model.trainable_weights)
    frozen_count, frozen_size = _weights_size(model.non_trainable_weights)
    optimizer = getattr(model, "optimizer", None)
    optimizer_variables = (list(getattr(optimizer, "variables", None) or [])
                           if getattr(model, "compiled", False) and optimizer is not None
                           and getattr(optimizer, "built", False) else None)
    optimizer_count = optimizer_size = 0
    if optimizer_variables is not None:
        optimizer_count, optimizer_size = _weights_size(optimizer_variables)
    total_count = trainable_count + frozen_count + optimizer_count
    total_size = trainable_size + frozen_size + optimizer_size

    lines = [f'Model: "{model.name}"']
    lines += _render_table(header, rows, widths, alignment)
    lines.append(f" Total params: {total_count:,} ({readable_size(total_size)})")
    lines.append(f" Trainable params: {trainable_count:,} ({readable_size(trainable_size)})")
    lines.append(f" Non-trainable params: {frozen_count:,} ({readable_size(frozen_size)})")
    if optimizer_variables is not None:
        lines.append(f" Optimizer params: {optimizer_count:,} ({readable_size(optimizer_size)})")
    text = "\n".join(lines) + "\n"
    if print_fn is None:
        print(text, end="")
    else:
        print_fn(text)
