// Control module
