"""The collaborative network: source-side sharing, target-side rules, linked accounts."""
