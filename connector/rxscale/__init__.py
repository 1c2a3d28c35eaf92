"""RxScale External Pharmacy API adapter: wire models, client, webhook verification."""
