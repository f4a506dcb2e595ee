"""The embedded store: SQLite from the standard library, in memory or in one file (WAL).

Entities are JSON text in one table, with their schema, title and timestamps as columns; their
relations are rows of a second table (indexed both ways); other records a third. Attributes a
plugin names (``ensure_index``) get expression indexes, so unique-id lookups stay fast on large
worlds.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from ..jsontext import dumps, loads
from . import text
from .base import (
    SNAPSHOT_FORMAT,
    SNAPSHOT_VERSION,
    Entity,
    Filter,
    Page,
    Query,
    Relation,
    Store,
    check_snapshot,
    iter_relations,
)
from .terms import (
    COLUMNS,
    SAFE_ATTR,
    SEARCH_OPS,
    TERM_MAX_LENGTH,
    filters,
    like_escape,
    literal_hint,
    qmatch,
    qtokens,
    string_terms,
    term_eligible,
    token_indexed,
    tokens_at,
    value_key,
)

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS entities (
  id TEXT PRIMARY KEY, schema TEXT NOT NULL, title TEXT, created_at TEXT, updated_at TEXT, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_entities_schema_created ON entities(schema, created_at);
CREATE TABLE IF NOT EXISTS relations (
  src TEXT NOT NULL, attribute TEXT NOT NULL, dst TEXT NOT NULL, tags TEXT,
  PRIMARY KEY (src, attribute, dst)
);
CREATE INDEX IF NOT EXISTS ix_relations_dst ON relations(dst);
CREATE TABLE IF NOT EXISTS records (
  kind TEXT NOT NULL, id TEXT NOT NULL, parent TEXT, seq INTEGER NOT NULL, doc TEXT NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS ix_records_parent ON records(kind, parent, seq);
CREATE INDEX IF NOT EXISTS ix_records_seq ON records(kind, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS terms (attr TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL,
                                  PRIMARY KEY (attr, value, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_terms_id ON terms(id);
CREATE TABLE IF NOT EXISTS term_attrs (attr TEXT PRIMARY KEY);
"""
# Equality on an attribute (`last_name:Müller`, unique ids) must also match items of multi-value
# attributes, which no expression index can serve. So the first equality query on an attribute
# builds an inverted index of its string values (`terms`); writes keep it current from then on.


def _json(value: Any) -> str:
    return dumps(value).decode()


def attr_expr(attribute: str) -> str:
    """The SQL expression for a top-level attribute (a column for the base fields)."""
    column = COLUMNS.get(attribute)
    if column:
        return column
    if not SAFE_ATTR.match(attribute):
        raise ValueError(f"unsupported attribute name '{attribute}'")
    return f"json_extract(doc, '$.\"{attribute}\"')"


_SQL_INT_MAX = 2**63 - 1


def _chunks(ids: list[str], size: int = 400) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _sql_int(value: int) -> int:
    """Clamp a page bound into SQLite's INTEGER range (callers may pass any size the spec allows)."""
    return min(max(0, value), _SQL_INT_MAX)


class SQLiteStore(Store):
    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.shared = path is not None
        self._lock = threading.RLock()
        self._depth = 0
        self.conn = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None,
                                    timeout=30)
        if path:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        # SQLite's lower() folds ASCII only; text search must match "Ökostrom" with "ökostrom".
        self.conn.create_function("ulower", 1, _unicode_lower, deterministic=True)
        for name, arity, function in _TEXT_FUNCTIONS:
            self.conn.create_function(name, arity, function, deterministic=True)
        self.conn.executescript(_SCHEMA_SQL)
        self._pristine: sqlite3.Connection | None = None
        self._writes = 0
        self._term_cache: set[str] | None = None
        self._seq = self._scalar("SELECT COALESCE(MAX(seq), 0) FROM records") or 0

    # -- plumbing -----------------------------------------------------------------------------

    def _scalar(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        row = self.conn.execute(sql, args).fetchone()
        return row[0] if row else None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                name = f"sp{self._depth}"
                self.conn.execute(f"SAVEPOINT {name}")
                self._depth += 1
                try:
                    yield
                except BaseException:
                    self.conn.execute(f"ROLLBACK TO {name}")
                    self.conn.execute(f"RELEASE {name}")
                    raise
                else:
                    self.conn.execute(f"RELEASE {name}")
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            changes = self.conn.total_changes
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0
                if self.conn.total_changes != changes:  # a read-only request keeps caches valid
                    self._writes += 1

    def ensure_index(self, attribute: str) -> None:
        if attribute in COLUMNS or not SAFE_ATTR.match(attribute):
            return
        name = "ix_attr_" + re.sub(r"[^A-Za-z0-9_]", "_", attribute)
        with self._lock:
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON entities(schema, {attr_expr(attribute)})")

    def meta_get(self, key: str) -> str | None:
        with self._lock:
            value = self._scalar("SELECT value FROM meta WHERE key = ?", (key,))
            return None if value is None else str(value)

    def meta_set(self, key: str, value: str) -> None:
        with self._lock:
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- entities -----------------------------------------------------------------------------

    def get(self, entity_id: str) -> Entity | None:
        with self._lock:
            row = self.conn.execute("SELECT doc FROM entities WHERE id = ?", (entity_id,)).fetchone()
        return loads(row[0]) if row else None

    def get_many(self, ids: list[str]) -> dict[str, Entity]:
        out: dict[str, Entity] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for entity_id, doc in self.conn.execute(
                        f"SELECT id, doc FROM entities WHERE id IN ({marks})", chunk):
                    out[entity_id] = loads(doc)
        return out

    def put(self, entity: Entity) -> Entity:
        entity_id, schema = entity.get("_id"), entity.get("_schema")
        if not isinstance(entity_id, str) or not isinstance(schema, str):
            raise ValueError("an entity needs a string _id and _schema")
        with self.transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO entities(id, schema, title, created_at, updated_at, doc) VALUES (?,?,?,?,?,?)",
                (entity_id, schema, entity.get("_title"), entity.get("_created_at"), entity.get("_updated_at"),
                 _json(entity)),
            )
            self.conn.execute("DELETE FROM relations WHERE src = ?", (entity_id,))
            self.conn.executemany(
                "INSERT OR REPLACE INTO relations(src, attribute, dst, tags) VALUES (?,?,?,?)",
                [(r.source, r.attribute, r.target, _json(list(r.tags))) for r in iter_relations(entity)],
            )
            self._index_terms([entity])
        return entity

    def _term_attrs(self) -> set[str]:
        # In memory, this connection is the only writer and the cache is exact; a shared file may
        # have been changed by another worker (an index built, or a reset that dropped them all).
        if self.path is None and self._term_cache is not None:
            return self._term_cache
        self._term_cache = {a for (a,) in self.conn.execute("SELECT attr FROM term_attrs")}
        return self._term_cache

    def _index_terms(self, entities: list[Entity], *, replace: bool = True) -> None:
        """Keep ``terms`` current for written entities (call inside a transaction)."""
        attrs = self._term_attrs()
        if not attrs:
            return
        if replace:
            self.conn.executemany("DELETE FROM terms WHERE id = ?", [(e["_id"],) for e in entities])
        rows = [(a, v, e["_id"]) for e in entities for a in attrs
                for v in (tokens_at(e, a[1:]) if a.startswith("~") else string_terms(e, a))]
        self.conn.executemany("INSERT OR IGNORE INTO terms(attr, value, id) VALUES (?,?,?)", rows)

    def _ensure_terms(self, attributes: set[str]) -> None:
        """Build the inverted index of each attribute not indexed yet, from the stored documents."""
        with self._lock:
            missing = attributes - self._term_attrs()
            if not missing:
                return
            with self.transaction():
                for attr in sorted(missing):
                    if attr.startswith("~"):  # analysed tokens of a searched path (see text.py)
                        first = f'$."{attr[1:].split(".", 1)[0]}"'
                        self.conn.execute(
                            "INSERT OR IGNORE INTO terms(attr, value, id) SELECT ?, j.value, e.id "
                            "FROM entities e, json_each(qtokens(e.doc -> ?, ?)) j WHERE e.doc -> ? IS NOT NULL",
                            (attr, first, attr[1:], first))
                        self.conn.execute("INSERT OR IGNORE INTO term_attrs(attr) VALUES (?)", (attr,))
                        continue
                    path, key = f'$."{attr}"', f'$."{value_key(attr)}"'
                    self.conn.execute(
                        "INSERT OR IGNORE INTO terms(attr, value, id) "
                        "SELECT ?, j.value, e.id FROM entities e, json_each(e.doc, ?) j "
                        "WHERE j.type = 'text' AND length(j.value) <= ? "
                        "UNION ALL SELECT ?, json_extract(j.value, ?), e.id FROM entities e, json_each(e.doc, ?) j "
                        "WHERE j.type = 'object' AND json_type(j.value, ?) = 'text' "
                        "AND length(json_extract(j.value, ?)) <= ?",
                        (attr, path, TERM_MAX_LENGTH, attr, key, path, key, key, TERM_MAX_LENGTH))
                    self.conn.execute("INSERT OR IGNORE INTO term_attrs(attr) VALUES (?)", (attr,))
                self._term_cache = None

    def _indexed_equalities(self, clauses: Any) -> frozenset[str]:
        """Attributes of the string equalities in ``clauses`` that the terms index serves (built now)."""
        wanted = {f.attribute for f in filters(clauses) if term_eligible(f)}
        wanted |= {"~" + f.attribute for f in filters(clauses) if token_indexed(f)}
        if wanted:
            self._ensure_terms(wanted)
        return frozenset(wanted)

    def put_many(self, entities: list[Entity]) -> None:
        """Insert or replace many entities in one transaction (bulk statements: fast initial loads)."""
        rows, relations, ids = [], [], []
        for entity in entities:
            entity_id, schema = entity.get("_id"), entity.get("_schema")
            if not isinstance(entity_id, str) or not isinstance(schema, str):
                raise ValueError("an entity needs a string _id and _schema")
            ids.append((entity_id,))
            rows.append((entity_id, schema, entity.get("_title"), entity.get("_created_at"),
                         entity.get("_updated_at"), _json(entity)))
            relations += [(r.source, r.attribute, r.target, _json(list(r.tags))) for r in iter_relations(entity)]
        with self.transaction():
            self.conn.executemany("DELETE FROM relations WHERE src = ?", ids)
            self.conn.executemany(
                "INSERT OR REPLACE INTO entities(id, schema, title, created_at, updated_at, doc) VALUES (?,?,?,?,?,?)",
                rows)
            self.conn.executemany("INSERT OR REPLACE INTO relations(src, attribute, dst, tags) VALUES (?,?,?,?)",
                                  relations)
            self._index_terms(entities)

    def record_put_many(self, kind: str, items: list[tuple[str, str | None, dict[str, Any]]]) -> None:
        with self.transaction():
            rows = []
            for record_id, parent, doc in items:
                rows.append((kind, record_id, parent, self._next_seq(), _json(doc)))
            self.conn.executemany("INSERT OR REPLACE INTO records(kind, id, parent, seq, doc) VALUES (?,?,?,?,?)",
                                  rows)

    def delete(self, entity_id: str) -> bool:
        with self.transaction():
            cur = self.conn.execute("DELETE FROM entities WHERE id = ?", (entity_id,))
            self.conn.execute("DELETE FROM relations WHERE src = ?", (entity_id,))
            self.conn.execute("DELETE FROM terms WHERE id = ?", (entity_id,))
        return cur.rowcount > 0

    def count(self, schema: str | None = None) -> int:
        with self._lock:
            if schema is None:
                return int(self._scalar("SELECT COUNT(*) FROM entities"))
            return int(self._scalar("SELECT COUNT(*) FROM entities WHERE schema = ?", (schema,)))

    def counts_by_schema(self) -> dict[str, int]:
        with self._lock:
            return dict(self.conn.execute("SELECT schema, COUNT(*) FROM entities GROUP BY schema ORDER BY schema"))

    def relations(self, entity_id: str, *, reverse: bool = False) -> list[Relation]:
        column = "dst" if reverse else "src"
        with self._lock:
            rows = self.conn.execute(
                f"SELECT src, attribute, dst, tags FROM relations WHERE {column} = ? ORDER BY attribute, rowid",
                (entity_id,)).fetchall()
        return [Relation(s, a, d, tuple(loads(t or "[]"))) for s, a, d, t in rows]

    def schemas_of(self, ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with self._lock:
            for chunk in _chunks(ids):
                out.update(self.conn.execute(
                    f"SELECT id, schema FROM entities WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def links(self, ids: list[str]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        with self._lock:
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                out += self.conn.execute(f"SELECT src, dst FROM relations WHERE src IN ({marks}) "
                                         f"UNION ALL SELECT src, dst FROM relations WHERE dst IN ({marks})",
                                         (*chunk, *chunk)).fetchall()
        return out

    def version(self) -> tuple[int, int]:
        with self._lock:  # data_version moves when another connection (worker) commits
            return self._writes, int(self._scalar("PRAGMA data_version"))

    def find_by(self, schema: str, attributes: dict[str, Any]) -> list[Entity]:
        if not attributes:
            return []
        where = ["schema = ?"]
        args: list[Any] = [schema]
        filters = [Filter(name, "eq", value) for name, value in attributes.items()]
        indexed = self._indexed_equalities(filters)
        for f in filters:
            sql, clause_args = _filter(f, indexed)  # matches array items too (emails, tags)
            where.append(sql)
            args.extend(clause_args)
        with self._lock:
            rows = self.conn.execute(f"SELECT doc FROM entities WHERE {' AND '.join(where)} ORDER BY created_at",
                                     args).fetchall()
        return [loads(r[0]) for r in rows]

    def query(self, query: Query) -> Page:
        where: list[str] = []
        args: list[Any] = []
        indexed = self._indexed_equalities(query.all_of)
        selective = query.ids is not None or any(
            (c.attribute in indexed and term_eligible(c)) or (token_indexed(c) and c.op == "match")
            for c in _conjuncts(query.all_of))
        if query.schemas:
            # With ids or an indexed equality, the unary plus keeps SQLite from walking the (far
            # larger) schema index instead of looking those ids up.
            column = "+schema" if selective else "schema"
            where.append(f"{column} IN ({','.join('?' * len(query.schemas))})")
            args.extend(query.schemas)
        if query.ids is not None:
            if not query.ids:
                return Page([], 0)
            where.append(f"id IN ({','.join('?' * len(query.ids))})")
            args.extend(query.ids)
        for clause in query.all_of:
            sql, clause_args = _clause(clause, indexed)
            where.append(f"({sql})")  # an OR clause must not bind to its neighbours
            args.extend(clause_args)
        sql_where = f" WHERE {' AND '.join(where)}" if where else ""
        order = ", ".join(f"{attr_expr(a)} {'DESC' if desc else 'ASC'}" for a, desc in query.sort) or "created_at"
        with self._lock:
            total = int(self._scalar(f"SELECT COUNT(*) FROM entities{sql_where}", tuple(args))) if query.count else -1
            rows = self.conn.execute(
                f"SELECT doc FROM entities{sql_where} ORDER BY {order}, id LIMIT ? OFFSET ?",
                (*args, _sql_int(query.limit), _sql_int(query.offset))).fetchall()
        return Page([loads(r[0]) for r in rows], total)

    # -- records ------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        """The next record sequence number; call inside a transaction."""
        if self.path:  # other workers may have added records: the file, whose write lock we hold, knows
            self._seq = max(self._seq, self._scalar("SELECT COALESCE(MAX(seq), 0) FROM records") or 0)
        self._seq += 1
        return self._seq

    def record_get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self.conn.execute("SELECT doc FROM records WHERE kind = ? AND id = ?", (kind, record_id)).fetchone()
        return loads(row[0]) if row else None

    def record_put(self, kind: str, record_id: str, doc: dict[str, Any], *, parent: str | None = None) -> None:
        with self.transaction():
            existing = self._scalar("SELECT seq FROM records WHERE kind = ? AND id = ?", (kind, record_id))
            if existing is None:
                existing = self._next_seq()
            self.conn.execute("INSERT OR REPLACE INTO records(kind, id, parent, seq, doc) VALUES (?,?,?,?,?)",
                              (kind, record_id, parent, existing, _json(doc)))

    def record_delete(self, kind: str, record_id: str) -> bool:
        with self.transaction():
            cur = self.conn.execute("DELETE FROM records WHERE kind = ? AND id = ?", (kind, record_id))
        return cur.rowcount > 0

    def record_list(self, kind: str, *, parent: str | None = None, limit: int | None = None,
                    newest_first: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM records WHERE kind = ?"
        args: list[Any] = [kind]
        if parent is not None:
            sql += " AND parent = ?"
            args.append(parent)
        sql += f" ORDER BY seq {'DESC' if newest_first else 'ASC'}"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(_sql_int(limit))
        with self._lock:
            return [loads(r[0]) for r in self.conn.execute(sql, args)]

    def record_count(self, kind: str) -> int:
        with self._lock:
            return int(self._scalar("SELECT COUNT(*) FROM records WHERE kind = ?", (kind,)))

    # -- whole state --------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        with self._lock:
            entities = [loads(d) for (d,) in self.conn.execute("SELECT doc FROM entities ORDER BY rowid")]
            records: dict[str, list[dict[str, Any]]] = {}
            for kind, record_id, parent, doc in self.conn.execute(
                    "SELECT kind, id, parent, doc FROM records ORDER BY seq"):
                records.setdefault(kind, []).append({"id": record_id, "parent": parent, "doc": loads(doc)})
            meta = dict(self.conn.execute("SELECT key, value FROM meta"))
        return {"format": SNAPSHOT_FORMAT, "version": SNAPSHOT_VERSION, "meta": meta, "entities": entities,
                "records": records}

    def load(self, data: dict[str, Any]) -> dict[str, int]:
        entities, records = check_snapshot(data)
        with self.transaction():
            self._clear()
            for entity in entities:
                self.put(entity)
            for kind, items in records.items():
                for r in items:
                    self.record_put(kind, r["id"], r["doc"], parent=r.get("parent"))
            for key, value in (data.get("meta") or {}).items():
                self.meta_set(str(key), str(value))
        return {"entities": len(entities), "records": sum(len(v) for v in records.values())}

    def _clear(self) -> None:
        self._term_cache = None
        for table in ("entities", "relations", "records", "meta", "terms", "term_attrs"):
            self.conn.execute(f"DELETE FROM {table}")

    def describe(self) -> str:
        return self.path or "memory"

    def copy_from(self, path: str) -> None:
        """Replace the whole database with the one in ``path`` (SQLite's backup API: fast, consistent)."""
        if self._depth:  # inside a transaction (seeding a shared file): row by row, in that transaction
            cache = SQLiteStore(path)
            try:
                self.load(cache.export())
            finally:
                cache.close()
            return
        with self._lock:
            source = sqlite3.connect(path)
            try:
                source.backup(self.conn)
            finally:
                source.close()
            self.conn.executescript(_SCHEMA_SQL)  # a copy made by an older version may lack newer tables
            self._term_cache = None
            self._writes += 1
            self._seq = self._scalar("SELECT COALESCE(MAX(seq), 0) FROM records") or 0

    def save_to(self, path: str) -> None:
        """Write the whole database to ``path`` atomically."""
        tmp = f"{path}.{os.getpid()}.tmp"
        with self._lock:
            target = sqlite3.connect(tmp)
            try:
                self.conn.backup(target)
            finally:
                target.close()
        os.replace(tmp, path)

    def checkpoint(self) -> None:
        with self._lock:
            if self._pristine is None:
                self._pristine = sqlite3.connect(":memory:", check_same_thread=False)
            self.conn.backup(self._pristine)

    def reset(self) -> None:
        with self._lock:
            if self._pristine is None:
                with self.transaction():
                    self._clear()
                return
            with self.transaction():
                self._clear()
                for table, columns in (("entities", "id, schema, title, created_at, updated_at, doc"),
                                       ("relations", "src, attribute, dst, tags"),
                                       ("records", "kind, id, parent, seq, doc"), ("meta", "key, value")):
                    rows = self._pristine.execute(f"SELECT {columns} FROM {table}").fetchall()
                    marks = ",".join("?" * len(columns.split(",")))
                    self.conn.executemany(f"INSERT INTO {table}({columns}) VALUES ({marks})", rows)
            self._seq = self._scalar("SELECT COALESCE(MAX(seq), 0) FROM records") or 0

    def close(self) -> None:
        with self._lock:
            if self.path:
                with suppress(sqlite3.Error):
                    self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.close()
            if self._pristine is not None:
                self._pristine.close()


def _conjuncts(clauses: Any) -> Iterator[Filter]:
    """The filters that every match must pass (top level, through nested ANDs)."""
    for clause in clauses:
        if isinstance(clause, Filter):
            yield clause
        elif clause[0] == "and":
            yield from _conjuncts(clause[1])


def _clause(clause: Any, indexed: frozenset[str] = frozenset()) -> tuple[str, list[Any]]:
    if isinstance(clause, Filter):
        return _filter(clause, indexed)
    kind, parts = clause
    if kind == "not":
        inner, inner_args = _clause(parts, indexed)
        return f"NOT ({inner})", inner_args
    joined: list[str] = []
    args: list[Any] = []
    for part in parts:
        sql, part_args = _clause(part, indexed)
        joined.append(f"({sql})")
        args.extend(part_args)
    glue = " OR " if kind == "or" else " AND "
    return (glue.join(joined) or ("0" if kind == "or" else "1")), args


def _filter(f: Filter, indexed: frozenset[str] = frozenset()) -> tuple[str, list[Any]]:
    if f.op in SEARCH_OPS:
        return _search_filter(f, indexed)
    if f.attribute == "*":  # free text: title or any value in the document
        term = f"%{str(f.value).lower()}%"
        return "(ulower(title) LIKE ? OR ulower(doc) LIKE ?)", [term, term]
    expr = attr_expr(f.attribute)
    if f.attribute in indexed and term_eligible(f):
        return "id IN (SELECT id FROM terms WHERE attr = ? AND value = ?)", [f.attribute, f.value]
    if f.op == "eq":
        if isinstance(f.value, str) and f.attribute not in COLUMNS:
            # Matches a scalar, or any element of an array attribute (tags, multi-values).
            return (f"({expr} = ? OR EXISTS (SELECT 1 FROM json_each(doc, '$.\"{f.attribute}\"') "
                    f"WHERE json_each.value = ? OR (CASE WHEN json_each.type = 'object' "
                    f"THEN json_extract(json_each.value, '$.' || ?) END) = ?))",
                    [f.value, f.value, value_key(f.attribute), f.value])
        return f"{expr} = ?", [f.value]
    if f.op == "ne":
        return f"({expr} IS NULL OR {expr} != ?)", [f.value]
    if f.op == "in":
        values = list(f.value)
        return f"{expr} IN ({','.join('?' * len(values))})", values
    if f.op == "prefix":
        return f"ulower({expr}) LIKE ?", [str(f.value).lower() + "%"]
    if f.op == "contains":
        return f"ulower(CAST({expr} AS TEXT)) LIKE ?", [f"%{str(f.value).lower()}%"]
    if f.op == "exists":
        return f"{expr} IS NOT NULL", []
    ops = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    if f.op in ops:
        return f"{expr} {ops[f.op]} ?", [f.value]
    raise ValueError(f"unknown filter operator '{f.op}'")


# -- search operators (analysed text, see text.py) ------------------------------------------------

def _search_filter(f: Filter, indexed: frozenset[str]) -> tuple[str, list[Any]]:
    spec = dumps(f.value).decode()
    if f.attribute == "*":  # every string value of the document
        if f.op not in ("match", "wildcard", "fuzzy"):
            raise ValueError(f"'{f.op}' needs an attribute")
        sql, args = f"qmatch(doc, '*', '{f.op}', ?)", [spec]  # path '*': every string
        hint = literal_hint(f)
        if hint:  # a cheap superset first, in SQLite's own LIKE (ASCII case-insensitive; '_' for the rest)
            like = "".join(c if c.isascii() else "_" for c in like_escape(hint))
            sql, args = f"doc LIKE ? ESCAPE '\\' AND {sql}", [f"%{like}%", spec]
        return sql, args
    if not SAFE_ATTR.match(f.attribute):
        raise ValueError(f"unsupported attribute name '{f.attribute}'")
    first = f.attribute.split(".", 1)[0]
    scan = f"qmatch(doc -> '$.\"{first}\"', ?, '{f.op}', ?)", [f.attribute, spec]
    key = "~" + f.attribute
    if key not in indexed or f.op not in ("match", "wildcard", "fuzzy"):
        return scan
    lookup = "id IN (SELECT id FROM terms WHERE attr = ? AND "
    if f.op == "match":
        keys, exact = text.term_plan(str(f.value))
        sql = f"{lookup}value IN ({','.join('?' * len(keys))}))"
        if exact:
            return sql, [key, *keys]
        return f"{sql} AND {scan[0]}", [key, *keys, *scan[1]]
    if f.op == "wildcard":
        prefix = text.wildcard_prefix(str(f.value))
        if prefix:
            return (f"{lookup}value >= ? AND value < ? AND qglob(?, value))",
                    [key, prefix, prefix + "\U0010ffff", f.value])
        return f"{lookup}qglob(?, value))", [key, f.value]
    term, limit = f.value
    folded = text.fold(str(term))
    return (f"{lookup}length(value) BETWEEN ? AND ? AND qfuzzy(?, ?, value))",
            [key, len(folded) - limit, len(folded) + limit, folded, limit])


_TEXT_FUNCTIONS: tuple[tuple[str, int, Any], ...] = (
    ("qmatch", 4, qmatch),
    ("qtokens", 2, qtokens),
    ("qglob", 2, lambda pattern, token: int(text.match_wildcard_token(pattern, token))),
    ("qfuzzy", 3, lambda term, limit, token: int(text.edit_distance_within(term, token, limit))),
)


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


