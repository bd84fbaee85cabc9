// VSE module
