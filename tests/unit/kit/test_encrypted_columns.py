import base64

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.orm import Session

from services.kit.crypto import DecryptionError, KeyRing, generate_key
from services.kit.encrypted import reencrypt_columns, seal, unseal

metadata = MetaData()
people = Table(
    "people", metadata,
    Column("id", String, primary_key=True), Column("name", String), Column("phone", String),
)


def test_rotation_rewrites_every_cell_and_rows_stay_readable(tmp_path):
    k1, k2 = (base64.b64decode(generate_key()) for _ in range(2))
    old, new = KeyRing([("k1", k1)]), KeyRing([("k1", k1), ("k2", k2)])
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    metadata.create_all(engine)
    with Session(engine) as session:
        for n in range(1200):
            row_id = f"r{n:05d}"
            values = seal(old, "people", row_id, {"name": f"name-{n}", "phone": None if n % 7 else "+1555"})
            session.execute(insert(people).values(id=row_id, **values))
        session.commit()
        rewritten = reencrypt_columns(session, metadata, new, {"people": ("name", "phone")}, batch_size=500)
        assert rewritten == 1200 + len([n for n in range(1200) if n % 7 == 0])
        rows = session.execute(select(people)).all()
    for row in rows:
        assert row.name.startswith("v1.k2.")
        assert unseal(new, "people", row.id, {"name": row.name})["name"].startswith("name-")
    with pytest.raises(DecryptionError):
        unseal(old, "people", rows[0].id, {"name": rows[0].name})
