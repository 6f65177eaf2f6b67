"""The typed entity graph in networkx: customers, accounts, devices, IPs and merchants as
nodes ``(kind, id)``; use edges and money edges carry first/last time, count and amount."""

from __future__ import annotations

import networkx as nx
import pandas as pd

from workbench.graph.edges import account_owners, money_edges, transfers, use_edges
from workbench.graph.source import GraphSource

NODE_KINDS = ("customer", "account", "device", "ip", "merchant")


def entity_graph(
    src: GraphSource, include_merchants: bool = False, customers: list[int] | None = None
) -> nx.Graph:
    """The entity graph of ``src``'s window. Merchants are optional (every purchase is an edge,
    so they dominate the graph's size); ``customers`` restricts it to those customers' entities
    and the transfers between their accounts (used to draw a ring)."""
    kinds = (
        ("device", "ip", "account", "merchant")
        if include_merchants
        else ("device", "ip", "account")
    )
    uses = use_edges(src, kinds)
    moves = money_edges(transfers(src))
    if customers is not None:
        uses = uses[uses["customer_id"].isin(customers)]
        accounts = set(uses.loc[uses["kind"] == "account", "entity_id"].tolist())
        moves = moves[moves["src"].isin(accounts) & moves["dst"].isin(accounts)]
    g = nx.Graph()
    g.add_nodes_from((("customer", int(c)) for c in uses["customer_id"].unique()), kind="customer")
    for row in uses.itertuples(index=False):
        node = (row.kind, int(row.entity_id))
        g.add_node(node, kind=row.kind)
        g.add_edge(
            ("customer", int(row.customer_id)),
            node,
            kind="use",
            first=row.first_ts,
            last=row.last_ts,
            n=int(row.n),
            amount=float(row.amount),
        )
    for row in moves.itertuples(index=False):
        a, b = ("account", int(row.src)), ("account", int(row.dst))
        g.add_node(a, kind="account")
        g.add_node(b, kind="account")
        g.add_edge(
            a,
            b,
            kind="transfer",
            first=pd.Timestamp(row.first_us, unit="us"),
            last=pd.Timestamp(row.last_us, unit="us"),
            n=int(row.n),
            amount=float(row.amount),
        )
    return g


def transfer_graph(src: GraphSource, min_transfers: int = 1) -> nx.DiGraph:
    """Directed account graph of in-bank transfers with at least ``min_transfers`` transfers
    per edge; nodes carry their owner customer."""
    edges = money_edges(transfers(src))
    edges = edges[edges["n"] >= min_transfers]
    owners = account_owners(src)
    g = nx.DiGraph()
    for row in edges.itertuples(index=False):
        g.add_edge(int(row.src), int(row.dst), n=int(row.n), amount=float(row.amount))
    nx.set_node_attributes(g, {a: int(owners.get(a, -1)) for a in g.nodes}, "customer")
    return g


def degree_table(g: nx.Graph) -> pd.DataFrame:
    """Per customer node: its number of neighbours of each kind (``deg_device``, ...)."""
    rows = []
    for node, data in g.nodes(data=True):
        if data.get("kind") != "customer":
            continue
        counts = {f"deg_{k}": 0 for k in NODE_KINDS[1:]}
        for nb in g.neighbors(node):
            counts[f"deg_{nb[0]}"] += 1
        rows.append({"customer_id": node[1], **counts})
    return pd.DataFrame(rows, columns=["customer_id", *(f"deg_{k}" for k in NODE_KINDS[1:])])
