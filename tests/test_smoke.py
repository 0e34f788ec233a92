async def test_demo_admin_sees_itself(client, admin):
    response = await client.get("/api/v1/me", headers=admin)
    assert response.status_code == 200
    assert response.json()["roles"] == ["admin"]
