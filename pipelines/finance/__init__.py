"""Finance: reconciliation marts, the exceptions queue, its exports and the finance desk."""
