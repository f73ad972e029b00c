async def test_index(client, admin):
    r = await client.get("/")
    print(await r.text())
    assert r.status == 200
    r = await client.get("/api/whoami", auth=admin)
    print(await r.text())
    assert r.status == 200
