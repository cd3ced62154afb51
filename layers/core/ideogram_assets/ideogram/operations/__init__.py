"""One module per Ideogram operation: each turns our spec into the vendor's parameters.

Only these modules (and the transport in payload.py/client.py) know Ideogram's parameter names;
edit, remix, reframe and upscale join generate here as operations beside it.
"""
