/* version.h - the one place the product's version is written. */
#ifndef CM_VERSION_H
#define CM_VERSION_H

#define CM_VERSION "0.3.0"

#endif
