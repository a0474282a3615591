"""Queries over the organisation tree: ancestors and subtrees (recursive CTEs, the same on both databases)."""

from __future__ import annotations

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.db.tables import Org


async def ancestor_ids(session: AsyncSession, org_id: int) -> list[int]:
    """The organisation and its ancestors, nearest first (a recursive CTE; same SQL on both databases)."""
    chain = (
        select(col(Org.id), col(Org.parent_id), literal(0).label("depth"))
        .where(col(Org.id) == org_id)
        .cte(recursive=True)
    )
    parent = select(col(Org.id), col(Org.parent_id), (chain.c.depth + 1).label("depth")).join(
        chain, col(Org.id) == chain.c.parent_id
    )
    chain = chain.union_all(parent)
    rows = (await session.execute(select(chain.c.id).order_by(chain.c.depth))).all()
    return [row[0] for row in rows]


async def subtree_ids(session: AsyncSession, root_ids: list[int]) -> list[int]:
    """Every organisation at or below the given ones (recursive CTE)."""
    if not root_ids:
        return []
    tree = select(col(Org.id), literal(0).label("depth")).where(col(Org.id).in_(root_ids)).cte(recursive=True)
    tree = tree.union_all(
        select(col(Org.id), (tree.c.depth + 1).label("depth")).join(tree, col(Org.parent_id) == tree.c.id)
    )
    return sorted({row[0] for row in (await session.execute(select(tree.c.id))).all()})
