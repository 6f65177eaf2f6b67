"""The online feature state, compiled with numba: the stream's features, and the batch
features of a whole dataset (the feature store's default engine for workbench datasets).

Every entity (customer, card, merchant, device, IP) keeps a pointer to its latest row, and
every row a pointer to its entity's previous row: a linked history per entity that grows by
one write per row (nothing is precomputed from later rows). Customers and cards also keep
their latest RING rows side by side, so their windows (a customer's 30 days are ~25 rows)
are read from a few cache lines; windows of busy entities (a shared IP's week, a merchant's
month) slide forward instead of being walked. The batch catalogue's definitions hold:

- windows ending at the current row include rows at the same instant: the rows of one
  instant are all linked before any of them is computed (the batch store's RANGE windows);
- "strictly preceding" 30-day baselines (amount ratios, z-scores, refund and chargeback
  rates, the balance z-score) skip rows at the current instant;
- the previous-row features and first-use flags follow (time, txn_id) order, row by row;
- distinct counts (customers of a device or IP in 7 days, cards of a merchant in 1 hour)
  slide forward with a count per (entity, customer or card) pair;
- entity windows (merchant counts, merchant fraud rates, the delayed risk of merchants,
  devices and IPs) are generated from the registry's windows: each window is the rows
  up to its end edge less the rows before its start edge, and each distinct edge of an
  entity (``edges``: rows before ``t - x``, or up to it) is one pointer sliding forward
  along the entity's rows with the rows and known frauds behind it (a label is known once
  confirmed before the row: the label stream), so windows sharing an edge share its walk;
  the features over the windows (``aggs``: output slot, formula, windows) come from the
  registry too. Account-event features read the event stream up to the row's time.

The output slots (``Slot``) and their layout come from the feature registry
(``workbench.features.catalogue``); the kernel checks it runs with the layout it was compiled
for (``LAYOUT``: numba freezes the slot numbers into its cached machine code).

Inputs are the rows as arrays (see :class:`~workbench.features.online.StreamInputs`): times,
entity codes (a dictionary encoding of the ids; a live service grows the arrays as ids
arrive), codes of (customer, merchant/device/IP/city/channel) pairs for the first-use flags
and of (merchant, card) pairs, a calendar table per day, the label confirmations and the
account events. Missing values are NaN in the output, as NULL is in the batch features.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from workbench.features.catalogue import LAYOUT, Slot

US = 1_000_000
HOUR, DAY = 3600 * US, 86400 * US

# columns of the integer inputs: entity codes (global: one code space for all entities,
# -1 = missing), the transaction kind, then the pair codes of the five first-use flags
CUST, CARD, MERCHANT, DEVICE, IP, KIND = range(6)
ENTITIES = 5
PAIRS = 6  # merchant, device, IP, city, channel pairs in columns 6..10
# the sharing windows count rows per pair: (customer, device) and (customer, IP) are the
# first-use pairs, (merchant, card) has column 11; SHARING lists (entity, pair column, width)
# and its index is the column of ``following``
MERCHANT_CARD = 11
SHARING = ((DEVICE, PAIRS + 1, 7 * DAY), (IP, PAIRS + 2, 7 * DAY), (MERCHANT, MERCHANT_CARD, HOUR))
PURCHASE, REFUND, CHARGEBACK = 1, 2, 3
# columns of the float inputs
AMOUNT, BALANCE, LAT, LON, HOME_LAT, HOME_LON = range(6)
# columns of the calendar table (one row per day from the first day of the stream)
WEEKDAY, TO_SALARY, FESTIVAL = range(3)
# account events: (time, customer code, kind) rows; ``account`` holds per customer the time of
# the last email and phone change (NONE: never) and the index of the last bank link (-1: none)
EMAIL, PHONE, BANK_LINK = 0, 1, 2
# entity windows. ``edges`` rows: entity column of ``ids``, column of ``following``, kind,
# x, the edge's index among its entity's; kinds: the entity's rows with time < t - x, with
# time <= t - x, all of them, those before the current instant (the last two need no walk)
EDGE_ENTITY, EDGE_FOLLOWING, EDGE_KIND, EDGE_AT, EDGE_INDEX = range(5)
BEFORE, UP_TO, ALL, BEFORE_NOW = range(4)
# per entity code (from ``win_base``) and edge: its pointer (the first row not behind it; -1
# when every row is), the rows and the known frauds behind it; ``totals``: rows, known frauds
PTR, ROWS, KNOWN = range(3)
# ``wins`` rows: end edge, start edge, empty (a start after the end); the window's rows are
# those behind its end edge and not behind its start edge
WIN_END, WIN_START, WIN_EMPTY = range(3)
# ``aggs`` rows: output slot, formula, window a, window b (see catalogue.Aggregate)
COUNT_OF, SHARE_OF, KNOWN_SHARE_OF = range(3)
# recent rows kept side by side per customer and card (a power of two; see _gather)
RING = 64
NONE = np.iinfo(np.int64).min

NAN = np.nan


@numba.njit(cache=True, nogil=True)
def _haversine(lat1, lon1, lat2, lon2):  # pragma: no cover - compiled
    """The same formula as the batch store's DuckDB macro."""
    r = math.pi / 180.0
    a = (
        math.sin((lat2 - lat1) * r / 2) ** 2
        + math.cos(lat1 * r) * math.cos(lat2 * r) * math.sin((lon2 - lon1) * r / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@numba.njit(cache=True, nogil=True)
def _ratio(a, b):  # pragma: no cover - compiled
    return NAN if b != b or b == 0 else a / b


@numba.njit(cache=True, nogil=True)
def _mean_std(xs, m):  # pragma: no cover - compiled
    """Mean and sample standard deviation of ``xs[:m]`` (NaN where undefined)."""
    if m == 0:
        return NAN, NAN
    mean = xs[:m].sum() / m
    if m < 2:
        return mean, NAN
    dev = 0.0
    for k in range(m):
        dev += (xs[k] - mean) ** 2
    return mean, math.sqrt(dev / (m - 1))


@numba.njit(cache=True, nogil=True)
def _zscore(x, mean, std):  # pragma: no cover - compiled
    return NAN if std != std or std == 0 else (x - mean) / std


@numba.njit(cache=True, nogil=True)
def _sliding_distinct(
    r, s, t, ts, ids, following, share, pair_count
):  # pragma: no cover - compiled
    """Distinct customers (cards) of row r's device or IP (merchant) within the width of
    SHARING[s] before ``t``: the window slides forward from its oldest row, counting each
    (entity, customer) pair's rows in it (shared IPs have hundreds of rows a week, too many
    to walk for every transaction)."""
    entity, column, width = SHARING[s]
    code = ids[r, entity]
    if code < 0:
        return 0
    k = share[code, 0]
    while k >= 0 and ts[k] < t - width:
        pair = ids[k, column]
        pair_count[pair] -= 1
        if pair_count[pair] == 0:
            share[code, 1] -= 1
        k = following[k, s]
    share[code, 0] = k
    return share[code, 1]


@numba.njit(cache=True, nogil=True)
def _side_streams(
    t,
    ts,
    labels,
    events,
    ids,
    confirmed,
    edges,
    edge_state,
    totals,
    win_base,
    account,
    links,
    cursor,
):  # pragma: no cover - compiled
    """Apply the label confirmations made before ``t`` (a label confirmed at the instant of a
    transaction is not yet known to it) and the account events at or before ``t``."""
    while cursor[0] < labels.shape[0] and labels[cursor[0], 0] < t:
        k = labels[cursor[0], 1]
        confirmed[k] = True
        if ts[k] < t:  # a row not yet added counts when it is added and edges pass it
            for entity in (MERCHANT, DEVICE, IP):
                if ids[k, entity] >= 0:
                    totals[ids[k, entity] - win_base, 1] += 1
            for e in range(edges.shape[0]):  # a known fraud behind an edge counts there now
                code = ids[k, edges[e, EDGE_ENTITY]]
                if code < 0 or edges[e, EDGE_KIND] >= ALL:
                    continue
                state = edge_state[code - win_base, edges[e, EDGE_INDEX]]
                if state[PTR] < 0 or k < state[PTR]:
                    state[KNOWN] += 1
        cursor[0] += 1
    while cursor[1] < events.shape[0] and events[cursor[1], 0] <= t:
        e = cursor[1]
        customer, kind = events[e, 1], events[e, 2]
        if kind == EMAIL or kind == PHONE:
            account[customer, kind] = events[e, 0]
        elif kind == BANK_LINK:
            links[e] = account[customer, BANK_LINK]  # the customer's previous link
            account[customer, BANK_LINK] = e
        cursor[1] += 1


@numba.njit(cache=True, nogil=True)
def _walk(e, c, t, ts, edges, edge_state, following, confirmed):  # pragma: no cover - compiled
    """Move edge ``e`` of entity code ``c`` forward to time ``t`` along the entity's next
    rows, counting the rows and known frauds it passes. Busy merchants have thousands of
    rows in 30 days: windows are never walked, only their edges slide."""
    kind = edges[e, EDGE_KIND]
    if kind >= ALL:
        return
    col, limit = edges[e, EDGE_FOLLOWING], t - edges[e, EDGE_AT]
    state = edge_state[c, edges[e, EDGE_INDEX]]
    k = state[PTR]
    while k >= 0 and (ts[k] < limit or (kind == UP_TO and ts[k] == limit)):
        state[ROWS] += 1
        state[KNOWN] += confirmed[k]
        k = following[k, col]
    state[PTR] = k


@numba.njit(cache=True, nogil=True)
def _entity_windows(
    o,
    r,
    t,
    ts,
    ids,
    prev,
    last,
    following,
    confirmed,
    edges,
    wins,
    aggs,
    edge_state,
    totals,
    win_base,
    behind,
):  # pragma: no cover - compiled
    """The entity-window features of row r: move its entities' edges, read the rows and
    known frauds behind each into ``behind``, then each feature's formula over its windows
    (a count is 0 and a share NaN without the entity)."""
    for e in range(edges.shape[0]):
        entity = edges[e, EDGE_ENTITY]
        code = ids[r, entity]
        if code < 0:
            continue
        c = code - win_base
        kind = edges[e, EDGE_KIND]
        if kind < ALL:
            _walk(e, c, t, ts, edges, edge_state, following, confirmed)
            behind[e, 0] = edge_state[c, edges[e, EDGE_INDEX], ROWS]
            behind[e, 1] = edge_state[c, edges[e, EDGE_INDEX], KNOWN]
            continue
        behind[e, 0], behind[e, 1] = totals[c, 0], totals[c, 1]
        if kind == BEFORE_NOW:  # less the entity's rows at this instant
            k = last[code]
            while k >= 0 and ts[k] == t:
                behind[e, 0] -= 1
                behind[e, 1] -= confirmed[k]
                k = prev[k, entity]
    for q in range(aggs.shape[0]):
        slot, formula, a, b = aggs[q, 0], aggs[q, 1], aggs[q, 2], aggs[q, 3]
        if ids[r, edges[wins[a, WIN_END], EDGE_ENTITY]] < 0:
            o[slot] = 0.0 if formula == COUNT_OF else NAN
            continue
        rows, frauds = _window(a, wins, behind)
        if formula == COUNT_OF:
            o[slot] = rows
        elif formula == SHARE_OF:
            o[slot] = _ratio(frauds, rows)
        else:
            old_rows, old_frauds = _window(b, wins, behind)
            o[slot] = _ratio(frauds, frauds + old_rows - old_frauds)


@numba.njit(cache=True, nogil=True)
def _window(w, wins, behind):  # pragma: no cover - compiled
    """Rows and known frauds of window ``w``: behind its end edge, not behind its start."""
    if wins[w, WIN_EMPTY]:
        return 0, 0
    end, start = wins[w, WIN_END], wins[w, WIN_START]
    return behind[end, 0] - behind[start, 0], behind[end, 1] - behind[start, 1]


@numba.njit(cache=True, nogil=True)
def _account_events(o, r, t, ids, events, account, links):  # pragma: no cover - compiled
    """Hours since the last email and phone change; bank links in the last 24 hours and 7 days."""
    customer = ids[r, CUST]
    at = account[customer, EMAIL]
    o[Slot.HOURS_SINCE_EMAIL_CHANGE] = NAN if at == NONE else ((t - at) / US) / 3600.0
    at = account[customer, PHONE]
    o[Slot.HOURS_SINCE_PHONE_CHANGE] = NAN if at == NONE else ((t - at) / US) / 3600.0
    day = week = 0
    e = account[customer, BANK_LINK]
    while e >= 0 and events[e, 0] > t - 7 * DAY:
        week += 1
        day += events[e, 0] > t - DAY
        e = links[e]
    o[Slot.BANK_LINKS_24H], o[Slot.BANK_LINKS_7D] = day, week


@numba.njit(cache=True, nogil=True)
def _gather(
    code, entity, t, width, hist, hist_kind, hist_n, ts, vals, ids, prev, got, got_kind
):  # pragma: no cover - compiled
    """The rows of customer or card ``code`` with time >= t - width, newest first: (time,
    amount, balance) into ``got`` and kinds into ``got_kind`` (grown when full; returned).

    The latest RING rows of each customer and card are kept side by side in ``hist`` (time,
    amount, balance, row): a window is read from a few cache lines instead of one scattered
    row per step, which at 10 million rows is the difference between ~3 and ~15 us per
    transaction. Windows longer than the ring go on along the linked history."""
    total = hist_n[code]
    m, q, lo = 0, total - 1, max(total - RING, 0)
    while q >= lo:
        slot = q & (RING - 1)
        if hist[code, slot, 0] < t - width:
            return m, got, got_kind
        if m == got.shape[0]:
            got, got_kind = _grow(got, got_kind)
        got[m, 0], got[m, 1], got[m, 2] = (
            hist[code, slot, 0],
            hist[code, slot, 1],
            hist[code, slot, 2],
        )
        got_kind[m] = hist_kind[code, slot]
        m += 1
        q -= 1
    if total > RING:  # the ring is used up and the window goes on
        k = prev[int(hist[code, lo & (RING - 1), 3]), entity]
        while k >= 0 and ts[k] >= t - width:
            if m == got.shape[0]:
                got, got_kind = _grow(got, got_kind)
            got[m, 0], got[m, 1], got[m, 2] = ts[k], vals[k, AMOUNT], vals[k, BALANCE]
            got_kind[m] = ids[k, KIND]
            m += 1
            k = prev[k, entity]
    return m, got, got_kind


@numba.njit(cache=True, nogil=True)
def _grow(got, got_kind):  # pragma: no cover - compiled
    bigger, bigger_kind = (
        np.empty((2 * got.shape[0], 3)),
        np.empty(2 * got.shape[0], got_kind.dtype),
    )
    bigger[: got.shape[0]] = got
    bigger_kind[: got.shape[0]] = got_kind
    return bigger, bigger_kind


@numba.njit(cache=True, nogil=True)
def advance(
    ts,
    ids,
    vals,
    calendar,
    first_day,
    threshold,
    night_end,
    labels,
    events,
    last,
    prev,
    following,
    seen,
    share,
    pair_count,
    confirmed,
    edges,
    wins,
    aggs,
    edge_state,
    totals,
    win_base,
    account,
    links,
    hist,
    hist_kind,
    hist_n,
    cursor,
    out,
    out_start,
    start,
    max_batch,
    layout,
):  # pragma: no cover - compiled
    """Add rows from ``start`` to the state, one instant at a time, until at least
    ``max_batch`` rows were added (an instant is never split) or the stream ends; write the
    features of row r to ``out[r - out_start]`` (columns: the registry's ``Slot``) and
    return the next row to read; -1 when ``layout`` is not the one compiled in (``LAYOUT``:
    a cached build of an older registry, the caller recompiles)."""
    if layout != LAYOUT:
        return -1
    n = ts.shape[0]
    buf = np.empty(64)
    behind = np.zeros((edges.shape[0], 2), dtype=np.int64)
    got, got_kind = np.empty((64, 3)), np.empty(64, ids.dtype)
    i = start
    while i < n and i - start < max_batch:
        t = ts[i]
        j = i
        while j < n and ts[j] == t:
            j += 1
        _side_streams(
            t,
            ts,
            labels,
            events,
            ids,
            confirmed,
            edges,
            edge_state,
            totals,
            win_base,
            account,
            links,
            cursor,
        )
        for r in range(i, j):  # link the instant's rows first: windows ending now include them all
            for e in range(ENTITIES):
                code = ids[r, e]
                if code >= 0:
                    prev[r, e] = last[code]
                    last[code] = r
            for e in (CUST, CARD):  # the ring of recent rows
                code = ids[r, e]
                slot = hist_n[code] & (RING - 1)
                (
                    hist[code, slot, 0],
                    hist[code, slot, 1],
                    hist[code, slot, 2],
                    hist[code, slot, 3],
                ) = t, vals[r, AMOUNT], vals[r, BALANCE], r
                hist_kind[code, slot] = ids[r, KIND]
                hist_n[code] += 1
            for sh in range(3):  # sliding sharing windows: forward links, oldest row, pair counts
                entity, column, _ = SHARING[sh]
                code = ids[r, entity]
                if code >= 0:
                    if prev[r, entity] >= 0:
                        following[prev[r, entity], sh] = r
                    if share[code, 0] < 0:
                        share[code, 0] = r
                    pair = ids[r, column]
                    if pair_count[pair] == 0:
                        share[code, 1] += 1
                    pair_count[pair] += 1
            for entity in (MERCHANT, DEVICE, IP):  # entity windows: totals
                if ids[r, entity] >= 0:
                    c = ids[r, entity] - win_base
                    totals[c, 0] += 1
                    totals[c, 1] += confirmed[r]
            for e in range(edges.shape[0]):  # an edge past every row waits at the new one
                code = ids[r, edges[e, EDGE_ENTITY]]
                if code >= 0 and edges[e, EDGE_KIND] < ALL:
                    state = edge_state[code - win_base, edges[e, EDGE_INDEX]]
                    if state[PTR] < 0:
                        state[PTR] = r
        for r in range(i, j):
            o = out[r - out_start]
            amount = vals[r, AMOUNT]
            # customer windows (1h, 24h, 7d, 30d, this row and its instant included) and the
            # strictly preceding 30-day baseline of amounts and transaction kinds
            n1 = n24 = n7 = n30 = 0
            s1 = s24 = s7 = s30 = 0.0
            m = purchases = refunds = chargebacks = 0
            rows, got, got_kind = _gather(
                ids[r, CUST],
                CUST,
                t,
                30 * DAY,
                hist,
                hist_kind,
                hist_n,
                ts,
                vals,
                ids,
                prev,
                got,
                got_kind,
            )
            for q in range(rows):
                tk, a = got[q, 0], got[q, 1]
                n30 += 1
                s30 += a
                if tk >= t - 7 * DAY:
                    n7 += 1
                    s7 += a
                    if tk >= t - DAY:
                        n24 += 1
                        s24 += a
                        if tk >= t - HOUR:
                            n1 += 1
                            s1 += a
                if tk < t:
                    if m == buf.shape[0]:
                        bigger = np.empty(2 * m)
                        bigger[:m] = buf
                        buf = bigger
                    buf[m] = a
                    m += 1
                    kind = got_kind[q]
                    purchases += kind == PURCHASE
                    refunds += kind == REFUND
                    chargebacks += kind == CHARGEBACK
            o[Slot.CUST_N_1H], o[Slot.CUST_SUM_1H] = n1, s1
            o[Slot.CUST_N_24H], o[Slot.CUST_SUM_24H] = n24, s24
            o[Slot.CUST_N_7D], o[Slot.CUST_SUM_7D] = n7, s7
            o[Slot.CUST_N_30D], o[Slot.CUST_SUM_30D] = n30, s30
            o[Slot.CUST_MEAN_1H], o[Slot.CUST_MEAN_24H] = s1 / n1, s24 / n24
            o[Slot.CUST_MEAN_7D], o[Slot.CUST_MEAN_30D] = s7 / n7, s30 / n30
            mean, std = _mean_std(buf, m)
            o[Slot.AMT_RATIO_MEAN_30D] = _ratio(amount, mean)
            o[Slot.AMT_RATIO_MEDIAN_30D] = _ratio(amount, np.median(buf[:m]) if m > 0 else NAN)
            o[Slot.AMT_ZSCORE_30D] = _zscore(amount, mean, std)
            o[Slot.AMT_RATIO_MAX_30D] = _ratio(amount, buf[:m].max() if m > 0 else NAN)
            o[Slot.REFUND_RATE_30D] = _ratio(refunds, purchases) if purchases > 0 else NAN
            o[Slot.CHARGEBACK_RATE_30D] = _ratio(chargebacks, purchases) if purchases > 0 else NAN
            # card windows (1h, 24h, 7d) and the strictly preceding 30-day balances
            c1 = c24 = c7 = 0
            cs24 = 0.0
            m = 0
            rows, got, got_kind = _gather(
                ids[r, CARD],
                CARD,
                t,
                30 * DAY,
                hist,
                hist_kind,
                hist_n,
                ts,
                vals,
                ids,
                prev,
                got,
                got_kind,
            )
            for q in range(rows):
                tk = got[q, 0]
                if tk >= t - 7 * DAY:
                    c7 += 1
                    if tk >= t - DAY:
                        c24 += 1
                        cs24 += got[q, 1]
                        if tk >= t - HOUR:
                            c1 += 1
                if tk < t:
                    if m == buf.shape[0]:
                        bigger = np.empty(2 * m)
                        bigger[:m] = buf
                        buf = bigger
                    buf[m] = got[q, 2]
                    m += 1
            o[Slot.CARD_N_1H], o[Slot.CARD_N_24H], o[Slot.CARD_SUM_24H] = c1, c24, cs24
            o[Slot.CARD_N_7D] = c7
            bmean, bstd = _mean_std(buf, m)
            o[Slot.BALANCE_BEFORE] = vals[r, BALANCE]
            o[Slot.BALANCE_ZSCORE_30D] = _zscore(vals[r, BALANCE], bmean, bstd)
            # previous row of the customer and of the card (arrival order)
            lat, lon = vals[r, LAT], vals[r, LON]
            p = prev[r, CUST]
            o[Slot.CUST_SECS_SINCE_PREV] = NAN
            o[Slot.DIST_PREV_KM] = NAN
            o[Slot.SPEED_PREV_KMH] = NAN
            if p >= 0:
                secs = (t - ts[p]) / US
                o[Slot.CUST_SECS_SINCE_PREV] = secs
                if lat == lat and vals[p, LAT] == vals[p, LAT]:
                    d = _haversine(lat, lon, vals[p, LAT], vals[p, LON])
                    o[Slot.DIST_PREV_KM] = d
                    o[Slot.SPEED_PREV_KMH] = _ratio(d, secs / 3600.0)
            p = prev[r, CARD]
            o[Slot.CARD_SECS_SINCE_PREV] = NAN if p < 0 else (t - ts[p]) / US
            o[Slot.LOG_AMOUNT] = math.log(1 + amount)
            o[Slot.IS_ROUND_AMOUNT] = 1.0 if amount >= 100 and np.fmod(amount, 100.0) == 0 else 0.0
            o[Slot.NEAR_THRESHOLD] = 1.0 if 0.85 * threshold <= amount < threshold else 0.0
            # first use by the customer; a missing device or IP is recorded but never "new"
            for f in range(5):
                pair = ids[r, PAIRS + f]
                new = not seen[pair]
                seen[pair] = True
                if f == 1 or f == 2:
                    new = new and ids[r, DEVICE if f == 1 else IP] >= 0
                o[Slot.IS_NEW_MERCHANT + f] = 1.0 if new else 0.0
            home = (
                NAN if lat != lat else _haversine(lat, lon, vals[r, HOME_LAT], vals[r, HOME_LON])
            )
            o[Slot.DIST_HOME_KM] = home
            # sharing: distinct customers of the device / IP in 7 days, cards of the merchant
            # in 1 hour
            shared = (
                _sliding_distinct(r, 0, t, ts, ids, following, share, pair_count),
                _sliding_distinct(r, 1, t, ts, ids, following, share, pair_count),
                _sliding_distinct(r, 2, t, ts, ids, following, share, pair_count),
            )
            o[Slot.DEVICE_CUSTOMERS_7D] = shared[0]
            o[Slot.IP_CUSTOMERS_7D] = shared[1]
            o[Slot.MERCHANT_CARDS_1H] = shared[2]
            _entity_windows(
                o,
                r,
                t,
                ts,
                ids,
                prev,
                last,
                following,
                confirmed,
                edges,
                wins,
                aggs,
                edge_state,
                totals,
                win_base,
                behind,
            )
            _account_events(o, r, t, ids, events, account, links)
            # calendar (local wall-clock time, as stored)
            hour = (t // HOUR) % 24
            day = t // DAY - first_day
            weekday = calendar[day, WEEKDAY]
            o[Slot.HOUR] = hour
            o[Slot.WEEKDAY] = weekday
            o[Slot.IS_WEEKEND] = 1.0 if weekday >= 5 else 0.0
            o[Slot.IS_NIGHT] = 1.0 if hour < night_end else 0.0
            o[Slot.IS_OFF_HOURS] = 1.0 if hour >= 22 or hour < 6 else 0.0
            o[Slot.DAYS_TO_SALARY] = calendar[day, TO_SALARY]
            o[Slot.IS_FESTIVAL] = calendar[day, FESTIVAL]
        i = j
    return i
