# The nginx mail module: build/ngx_mail_tenantalign_module.so, for Debian's
# stock nginx (load it after ngx_mail_module.so).
.PHONY: nginx
comma := ,
nginx: $(BUILD)/ngx_mail_tenantalign_module.so

$(BUILD)/ngx_mail_tenantalign_module.so: $(wildcard nginx/*.c nginx/*.h) nginx/config nginx/build-module.sh $(LIB) $(wildcard common/*.h)
	TA_SAN_FLAGS="$(if $(filter 1,$(SAN)),-fsanitize=address$(comma)undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)" \
	    nginx/build-module.sh $(abspath $(BUILD)) "$(PKG_LIBS)"
