"""The two networks as Graphviz DOT pictures for the Home page (st.graphviz_chart renders DOT text)."""

from __future__ import annotations

from .style import COLORS

_DOT_HEAD = ('digraph {{ rankdir=TB; newrank=true; ordering=out; bgcolor="transparent"; nodesep=0.22; ranksep=0.26; '
             'node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, '
             'color="{c}", fillcolor="white", penwidth=1.4]; edge [color="#6B7280", arrowsize=0.6, '
             'fontname="Helvetica", fontsize=9, fontcolor="#6B7280"]; ')


def inception_dot() -> str:
    """InceptionNet as a Graphviz graph: stem, an Inception block's four branches, head."""
    c = COLORS["inception"]
    fill = 'fillcolor="#EEF2FF"'
    return (_DOT_HEAD.format(c=c) +
            'in [label="input 1x28x28", shape=plaintext, style=""]; '
            'stem1 [label="conv 5x5 (1→10)\\nmaxpool 2, relu\\n10x12x12"]; '
            'subgraph cluster_a { label="InceptionA: four branches on the same input"; fontname="Helvetica"; '
            'fontsize=10; color="#C7D2FE"; style="rounded"; '
            f'b1 [label="1x1 conv\\n→ 16", {fill}]; '
            f'b5a [label="1x1 conv\\n→ 16", {fill}]; b5b [label="5x5 conv\\n→ 24", {fill}]; '
            f'b3a [label="1x1 conv\\n→ 16", {fill}]; b3b [label="3x3 conv\\n→ 24", {fill}]; '
            f'b3c [label="3x3 conv\\n→ 24", {fill}]; '
            f'bpa [label="avg pool 3x3", {fill}]; bpb [label="1x1 conv\\n→ 24", {fill}]; '
            f'cat [label="concat 16+24+24+24 = 88", {fill}, penwidth=2]; '
            '{ rank=same; b1; b5a; b3a; bpa; } { rank=same; b5b; b3b; bpb; } '
            'b5a -> b5b; b3a -> b3b -> b3c; bpa -> bpb; '
            'b1 -> cat; b5b -> cat; b3c -> cat; bpb -> cat; } '
            'stem1 -> b1; stem1 -> b5a; stem1 -> b3a; stem1 -> bpa; '
            'mid [label="conv 5x5 (88→20), maxpool 2, relu\\n20x4x4"]; '
            'inc2 [label="InceptionA again (20 → 88)\\n88x4x4", fillcolor="#EEF2FF"]; '
            'fc [label="flatten 1408 = 88·4·4\\nlinear 1408→10"]; '
            'in -> stem1; cat -> mid [label=" 88x12x12"]; mid -> inc2 -> fc; }')


def residual_dot() -> str:
    """ResidualNet as a Graphviz graph: stem, a residual block with its skip path, head."""
    c = COLORS["residual"]
    fill = 'fillcolor="#FFF7ED"'
    return (_DOT_HEAD.format(c=c) +
            'in [label="input 1x28x28", shape=plaintext, style=""]; '
            'stem1 [label="conv 5x5 (1→16)\\nmaxpool 2, relu\\n16x12x12"]; '
            'subgraph cluster_r { label="ResidualBlock: out = relu(x + F(x))"; fontname="Helvetica"; '
            'fontsize=10; color="#FED7AA"; style="rounded"; '
            f'x [label="x", shape=circle, {fill}, width=0.3]; '
            f'c1 [label="3x3 conv (16→16)\\nrelu", {fill}]; c2 [label="3x3 conv (16→16)", {fill}]; '
            f'add [label="+", shape=circle, {fill}, penwidth=2, width=0.3]; '
            f'r [label="relu", {fill}]; '
            'x -> c1 -> c2 -> add; '
            f'x -> add [label=" skip: identity", color="{c}", penwidth=2.2, fontcolor="{c}"]; '
            'add -> r; } '
            'stem1 -> x; '
            'mid [label="conv 5x5 (16→32), maxpool 2, relu\\n32x4x4"]; '
            'rb2 [label="ResidualBlock(32)\\n32x4x4", fillcolor="#FFF7ED"]; '
            'fc [label="flatten 512 = 32·4·4\\nlinear 512→10"]; '
            'in -> stem1; r -> mid [label=" 16x12x12"]; mid -> rb2 -> fc; }')
