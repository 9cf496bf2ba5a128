"""Reviews: quarterly review cycles, each product's review, its packet (HTML and PDF),
decisions and action items."""
