"""Drawing a detected ring with its evidence (networkx + matplotlib)."""

from __future__ import annotations

import networkx as nx

from workbench._extras import require
from workbench.graph.entity import entity_graph
from workbench.graph.source import GraphSource

plt = require("matplotlib.pyplot", "drawing rings")

NODE_COLOURS = {
    "customer": "#4c72b0",
    "account": "#55a868",
    "device": "#c44e52",
    "ip": "#8172b2",
    "merchant": "#ccb974",
}


def draw_ring(
    ax: plt.Axes, src: GraphSource, members: tuple[int, ...], planted: set[int], title: str
) -> nx.Graph:
    """Draw the entity graph of ``members`` on ``ax``: node colour by type, customers of the
    planted ring with a thick black edge, detected-but-not-planted customers with a dashed
    orange one. Returns the drawn graph."""
    g = entity_graph(src, customers=list(members))
    # keep only entities used by two or more members (the evidence) plus the members
    keep = {
        n
        for n in g
        if n[0] == "customer"
        or sum(1 for nb in g.neighbors(n) if nb[0] == "customer") >= 2
        or (n[0] == "account" and any(nb[0] == "account" for nb in g.neighbors(n)))
    }
    g = g.subgraph(keep).copy()
    pos = nx.spring_layout(g, seed=1)
    colours = [NODE_COLOURS[n[0]] for n in g]
    edge = [
        "black"
        if n[0] == "customer" and n[1] in planted
        else "orange"
        if n[0] == "customer"
        else "white"
        for n in g
    ]
    widths = [2.5 if n[0] == "customer" else 0.5 for n in g]
    nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.4)
    nx.draw_networkx_nodes(
        g, pos, ax=ax, node_color=colours, edgecolors=edge, linewidths=widths, node_size=120
    )
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return g
