"""One small Processor per DSL operator, built on the public Processor API."""
