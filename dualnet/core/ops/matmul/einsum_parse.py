"""Einsum equations: checked against the operands' shapes and spelled out explicitly.

`parse_einsum("b...ij,b...jk", shapes)` returns one subscript string per operand and the output
subscripts, with '...' replaced by unused letters and the implicit output made explicit, so the
kernel and the backward only ever see equations like 'bXij,bXjk->bXik'.
"""
import string

from .._common import shape_str

# Sublist ints 0-51 name these letters, and an implicit output lists its letters in this order
# (uppercase first: PyTorch's and NumPy's order)
LETTERS = string.ascii_uppercase + string.ascii_lowercase


def parse_einsum(equation, shapes):
    """(input subscripts, output subscripts) of `equation` for operands of `shapes`."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a str, got {type(equation).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    bad = (set(lhs) - set(LETTERS) - set(",.")) | (set(rhs) - set(LETTERS) - {"."})
    if bad:
        raise RuntimeError(f"einsum: invalid subscript(s) {''.join(sorted(bad))!r} in "
                           f"{equation!r}: subscripts are letters a-z and A-Z, ',' between "
                           f"operands, '->' before the output and '...' for broadcast dims")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError(f"einsum: the equation {equation!r} names {len(terms)} operand(s) but "
                           f"{len(shapes)} were given")
    ellipsis_dims = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        head, dots, tail = _split_ellipsis(term, equation)
        named = len(head) + len(tail)
        if (dots and named > len(shape)) or (not dots and named != len(shape)):
            raise RuntimeError(f"einsum: operand {i} has {len(shape)} dims (shape "
                               f"{shape_str(shape)}) but its subscripts {term!r} name {named}")
        ellipsis_dims.append(len(shape) - named if dots else 0)
    n_ellipsis = max(ellipsis_dims)
    spare = fresh_letters([eq])
    if len(spare) < n_ellipsis:
        raise RuntimeError(f"einsum: {equation!r} needs more than {len(LETTERS)} subscripts")
    ellipsis = "".join(spare[:n_ellipsis])
    inputs = []
    for term, n in zip(terms, ellipsis_dims):
        head, _, tail = _split_ellipsis(term, equation)
        inputs.append(head + ellipsis[n_ellipsis - n:] + tail)  # ellipses align on the right
    if arrow:
        head, dots, tail = _split_ellipsis(rhs, equation)
        output = head + (ellipsis if dots else "") + tail
        for c in head + tail:
            if not any(c in sub for sub in inputs):
                raise RuntimeError(f"einsum: output subscript {c!r} of {equation!r} does not "
                                   f"appear in any operand")
            if (head + tail).count(c) > 1:
                raise RuntimeError(f"einsum: output subscript {c!r} appears more than once in "
                                   f"{equation!r}")
    else:
        counts = {}
        for c in lhs:
            counts[c] = counts.get(c, 0) + 1
        output = ellipsis + "".join(c for c in LETTERS if counts.get(c) == 1)
    _check_sizes(inputs, shapes, equation)
    return inputs, output


def _split_ellipsis(term, equation):
    head, dots, tail = term.partition("...")
    if "." in head or "." in tail:
        raise RuntimeError(f"einsum: {term!r} in {equation!r}: '.' may only appear as one '...' "
                           f"per operand")
    return head, dots, tail


def _check_sizes(inputs, shapes, equation):
    """Each letter names one size: equal within an operand, equal or 1 (broadcast) across them."""
    sizes = {}
    for i, (sub, shape) in enumerate(zip(inputs, shapes)):
        mine = {}
        for c, n in zip(sub, shape):
            if mine.setdefault(c, n) != n:
                raise RuntimeError(f"einsum: subscript {c!r} repeats in operand {i} of "
                                   f"{equation!r} (shape {shape_str(shape)}) over dims of "
                                   f"different sizes {mine[c]} and {n}")
        for c, n in mine.items():
            known = sizes.get(c, 1)
            if n != 1 and known != 1 and n != known:
                raise RuntimeError(f"einsum: subscript {c!r} of {equation!r} has size {known} in "
                                   f"one operand and {n} in operand {i} (shape "
                                   f"{shape_str(shape)}); sizes must match or be 1")
            sizes[c] = n if known == 1 else known


def fresh_letters(subscripts):
    """The letters that none of `subscripts` uses, in LETTERS order."""
    used = set("".join(subscripts))
    return [c for c in LETTERS if c not in used]


def sublist_equation(args):
    """The equation and operands of the sublist form einsum(a, [0, 1], b, [1, 2], [0, 2])."""
    has_output = len(args) % 2 == 1
    pairs = args[:-1] if has_output else args
    operands, sublists = pairs[0::2], pairs[1::2]
    terms = [_sublist_term(s) for s in sublists]
    equation = ",".join(terms)
    if has_output:
        equation += "->" + _sublist_term(args[-1])
    return equation, tuple(operands)


def _sublist_term(sublist):
    if not isinstance(sublist, (list, tuple)):
        raise TypeError(f"einsum: in the sublist form each operand is followed by a list of ints, "
                        f"got {type(sublist).__name__}")
    term = []
    for item in sublist:
        if item is Ellipsis:
            term.append("...")
        elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item < len(LETTERS):
            term.append(LETTERS[item])
        else:
            raise ValueError(f"einsum: sublist subscripts must be ints in [0, {len(LETTERS)}) or "
                             f"Ellipsis, got {item!r}")
    return "".join(term)
