import GuestProtocol
print("vhpc-guest")
