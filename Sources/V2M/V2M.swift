// V2M module
