// Launch module
