"""The operations both APIs call, and the domain rules behind them."""
