// GuestProtocol module
