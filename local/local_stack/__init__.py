"""The embedded local stack: AWS emulator, Ideogram emulator, gateway."""
