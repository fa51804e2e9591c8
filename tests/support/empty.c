/* Lets the test support library exist before its first module does. */
typedef int dossier_testsupport_empty_t;
