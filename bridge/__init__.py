"""bridge: OpenStack notifications delivered to the tenants who own them."""
