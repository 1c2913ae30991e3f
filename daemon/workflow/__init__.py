"""What happens to tickets: incoming mail applied to them."""
