"""The shopping cart: event-sourced write API, kstreamy aggregator, DB connector and read API."""
